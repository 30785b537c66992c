//! A lessee company's people: who is linked with which role, the colleagues a director invites, role
//! changes and removals. Like the accounts, this lives outside the event log (it holds e-mails and control
//! strings); each change is one transaction with its security-log entries and its mails.
//!
//! The rules: a person holds one role per company; a company always keeps a director (the last one can be
//! neither demoted nor removed — the company's rows are locked while this is decided, so two directors
//! cannot remove each other at once); an invitation is a single-use control string valid
//! [`INVITATION_DAYS`] days, one open per company and address (a new one replaces it).

use chrono::{DateTime, Utc};
use domain::values::Email;
use sqlx::PgConnection;
use uuid::Uuid;

use super::control;
use super::security::{self, Client, Entry, SecurityEventKind as Kind};
use super::service::{refused, AccountService};
use super::{accounts, passwords, Actor, CompanyRole, Role};
use crate::error::ApiError;
use crate::mail::templates::{self, Locale};
use crate::mail::{Cause, Outbox};

/// How long an invitation's control string stays valid.
pub const INVITATION_DAYS: i64 = 7;
/// Open invitations one company may have at once.
pub const OPEN_INVITATIONS_PER_COMPANY: i64 = 50;

/// What admitting a person to a company did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// A new (or reopened) account, with a temporary password mailed.
    Opened(Uuid),
    /// An existing account was linked to this further company.
    Linked(Uuid),
    /// The account already served this company (its role is left as it is).
    AlreadyLinked(Uuid),
    /// The login belongs to a staff account; nothing was done.
    StaffLogin(Uuid),
}

impl Admitted {
    /// The account, whatever happened.
    pub fn account_id(self) -> Uuid {
        match self {
            Self::Opened(a) | Self::Linked(a) | Self::AlreadyLinked(a) | Self::StaffLogin(a) => a,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Existing {
    account_id: Uuid,
    roles: Vec<String>,
    deleted: bool,
    locale: String,
}

/// The company's short name for mails (its id when it has none).
async fn company_name(conn: &mut PgConnection, company_id: Uuid) -> Result<String, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT short_name FROM companies_view WHERE company_id = $1")
            .bind(company_id)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_else(|| company_id.to_string()),
    )
}

/// Whether the company has a director.
async fn has_director(conn: &mut PgConnection, company_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM account_companies WHERE company_id = $1 AND role = 'director')",
    )
    .bind(company_id)
    .fetch_one(&mut *conn)
    .await
}

/// The role a contract's contact person gets: director when the company has none yet (the person the
/// lessor concluded the contract with), viewer otherwise (the director decides more).
///
/// # Errors
/// A database error.
pub async fn contact_role(
    conn: &mut PgConnection,
    company_id: Uuid,
) -> Result<CompanyRole, sqlx::Error> {
    Ok(if has_director(conn, company_id).await? {
        CompanyRole::Viewer
    } else {
        CompanyRole::Director
    })
}

/// Admits the person with login `email` to `company_id` as `role`, on `conn` (the caller's transaction):
/// opens a CLIENT account with a temporary password mailed when there is none (or it was deleted), links an
/// existing client account and tells the person, leaves a staff login alone. `kind` and `detail` are the
/// security-log entry's; `cause` the mail's. The one way anybody becomes one of a company's people —
/// provisioning for a contract's contact and an accepted invitation both come here.
///
/// # Errors
/// A database error, or hashing failed.
#[allow(clippy::too_many_arguments)]
pub async fn admit(
    conn: &mut PgConnection,
    outbox: &Outbox,
    email: &str,
    company_id: Uuid,
    role: CompanyRole,
    kind: Kind,
    detail: &str,
    cause: Option<&Cause>,
) -> Result<Admitted, ApiError> {
    let email = email.trim().to_lowercase();
    let company = company_name(conn, company_id).await?;
    let existing: Option<Existing> = sqlx::query_as(
        "SELECT account_id, roles, deleted_at IS NOT NULL AS deleted, locale FROM accounts \
         WHERE email = $1 FOR UPDATE",
    )
    .bind(&email)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(a) if !a.roles.iter().any(|r| r == Role::Client.as_str()) => {
            Ok(Admitted::StaffLogin(a.account_id))
        }
        Some(a) if !a.deleted => {
            if !accounts::link_company(conn, a.account_id, company_id, role).await? {
                return Ok(Admitted::AlreadyLinked(a.account_id));
            }
            let mut e = Entry::new(a.account_id, kind, None);
            e.detail = Some(detail);
            security::record(conn, e).await?;
            let letter = match kind {
                Kind::CompanyLinked => {
                    templates::company_linked(Locale::parse(&a.locale), &outbox.site, &company)
                }
                _ => templates::company_role_changed(
                    Locale::parse(&a.locale),
                    &outbox.site,
                    &company,
                    None,
                    role,
                ),
            };
            outbox.enqueue_caused(conn, &email, letter, cause).await?;
            Ok(Admitted::Linked(a.account_id))
        }
        existing => {
            let password = passwords::generate_temporary();
            let hash = passwords::hash_async(passwords::SYSTEM, password.clone()).await?;
            let (account_id, locale) = match existing {
                Some(a) => {
                    sqlx::query(
                        "UPDATE accounts SET deleted_at = NULL, destroy_personal_data_by = NULL, \
                           roles = '{CLIENT}' WHERE account_id = $1",
                    )
                    .bind(a.account_id)
                    .execute(&mut *conn)
                    .await?;
                    (a.account_id, a.locale)
                }
                None => {
                    let id: Uuid = sqlx::query_scalar(
                        "INSERT INTO accounts (account_id, email, password_hash, roles, must_change_password) \
                         VALUES ($1, $2, $3, '{CLIENT}', true) RETURNING account_id",
                    )
                    .bind(Uuid::now_v7())
                    .bind(&email)
                    .bind(&hash)
                    .fetch_one(&mut *conn)
                    .await?;
                    (id, "ru".to_owned())
                }
            };
            let expires = accounts::set_temporary_password(conn, account_id, &hash).await?;
            accounts::link_company(conn, account_id, company_id, role).await?;
            let kind = if kind == Kind::CompanyLinked {
                Kind::Provisioned
            } else {
                kind
            };
            let mut e = Entry::new(account_id, kind, None);
            e.detail = Some(detail);
            security::record(conn, e).await?;
            let letter = templates::temporary_password(
                Locale::parse(&locale),
                &outbox.site,
                &company,
                &email,
                &password,
                expires,
            );
            outbox.enqueue_caused(conn, &email, letter, cause).await?;
            Ok(Admitted::Opened(account_id))
        }
    }
}

/// One of a company's people.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Person {
    /// The account.
    pub account_id: Uuid,
    /// Its login.
    pub email: String,
    /// The role in the company.
    pub role: String,
    /// Since when.
    pub linked_at: DateTime<Utc>,
    /// Blocked by staff.
    pub blocked: bool,
}

/// An invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    /// Its id.
    pub invitation_id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// The address invited.
    pub email: String,
    /// The role offered.
    pub role: String,
    /// Who invited.
    pub invited_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Until when the control string works.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked (or replaced by a newer one).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A company's people, directors first, then by login.
///
/// # Errors
/// A database error.
pub async fn people(
    db: impl sqlx::PgExecutor<'_>,
    company_id: Uuid,
) -> Result<Vec<Person>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.account_id, a.email, l.role, l.linked_at, a.blocked_at IS NOT NULL AS blocked \
         FROM account_companies l JOIN accounts a USING (account_id) \
         WHERE l.company_id = $1 AND a.deleted_at IS NULL \
         ORDER BY l.role = 'director' DESC, a.email",
    )
    .bind(company_id)
    .fetch_all(db)
    .await
}

const INVITATION_COLUMNS: &str = "invitation_id, company_id, email, role, invited_by, created_at, \
    expires_at, accepted_at, revoked_at";

/// A company's invitations of the last 30 days (open, accepted, revoked or expired), newest first.
///
/// # Errors
/// A database error.
pub async fn invitations(
    db: impl sqlx::PgExecutor<'_>,
    company_id: Uuid,
) -> Result<Vec<Invitation>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE company_id = $1 \
           AND created_at > clock_timestamp() - interval '30 days' ORDER BY created_at DESC"
    ))
    .bind(company_id)
    .fetch_all(db)
    .await
}

/// The company of an invitation (for authorization), when it exists.
///
/// # Errors
/// A database error.
pub async fn invitation_company(
    db: impl sqlx::PgExecutor<'_>,
    invitation_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT company_id FROM invitations WHERE invitation_id = $1 AND company_id IS NOT NULL",
    )
    .bind(invitation_id)
    .fetch_optional(db)
    .await
}

/// Locks a company's links and returns its people's (account, role).
async fn lock_people(
    conn: &mut PgConnection,
    company_id: Uuid,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT account_id, role FROM account_companies WHERE company_id = $1 ORDER BY account_id FOR UPDATE",
    )
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await
}

/// What accepting an invitation did.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The company joined.
    pub company_id: Uuid,
    /// Its short name.
    pub company_name: String,
    /// The role.
    pub role: CompanyRole,
    /// A new account was opened (its temporary password mailed).
    pub account_created: bool,
}

impl AccountService {
    /// Invites `email` to `company_id` as `role` (the caller is authorized to manage its people): a control
    /// string valid [`INVITATION_DAYS`] days is mailed; an open invitation to the same address is replaced.
    ///
    /// # Errors
    /// VALIDATION on `input.email` (malformed, already one of the company's people), RATE_LIMITED (too many
    /// open invitations, or mails to the address this hour); a database error.
    pub async fn invite(
        &self,
        actor: &Actor,
        company_id: Uuid,
        email: &str,
        role: CompanyRole,
        client: &Client,
    ) -> Result<Invitation, ApiError> {
        let email =
            Email::parse(email).map_err(|e| ApiError::validation("input.email", e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let people = lock_people(&mut tx, company_id).await?;
        let member: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1 AND account_id = ANY($2))",
        )
        .bind(email.as_str())
        .bind(people.iter().map(|p| p.0).collect::<Vec<_>>())
        .fetch_one(&mut *tx)
        .await?;
        if member {
            return Err(ApiError::validation(
                "input.email",
                "this person is already one of the company's people; change the role instead",
            ));
        }
        sqlx::query(
            "UPDATE invitations SET revoked_at = clock_timestamp(), revoked_by = $3 \
             WHERE company_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(company_id)
        .bind(email.as_str())
        .bind(actor.account_id)
        .execute(&mut *tx)
        .await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM invitations WHERE company_id = $1 AND accepted_at IS NULL \
               AND revoked_at IS NULL AND expires_at > clock_timestamp()",
        )
        .bind(company_id)
        .fetch_one(&mut *tx)
        .await?;
        if open >= OPEN_INVITATIONS_PER_COMPANY {
            return Err(refused(
                "RATE_LIMITED",
                format!("the company has {open} open invitations; revoke some or wait until they expire"),
            ));
        }
        let mailed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE recipient = $1 AND template = 'invitation' \
               AND created_at > clock_timestamp() - interval '1 hour'",
        )
        .bind(email.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if mailed >= i64::from(self.settings.mails_per_recipient_per_hour) {
            return Err(refused(
                "RATE_LIMITED",
                "too many invitations were mailed to this address in the last hour; try later",
            ));
        }
        let control = control::generate();
        let invitation: Invitation = sqlx::query_as(&format!(
            "INSERT INTO invitations (invitation_id, company_id, email, role, token_hash, invited_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp() + make_interval(days => $7::int)) \
             RETURNING {INVITATION_COLUMNS}"
        ))
        .bind(Uuid::now_v7())
        .bind(company_id)
        .bind(email.as_str())
        .bind(role.as_str())
        .bind(control::stored(&control))
        .bind(actor.account_id)
        .bind(INVITATION_DAYS as i32)
        .fetch_one(&mut *tx)
        .await?;
        let company = company_name(&mut tx, company_id).await?;
        let detail = format!(
            "{company}: {} as {}",
            invitation.invitation_id,
            role.as_str()
        );
        let mut e = Entry::new(actor.account_id, Kind::ColleagueInvited, Some(client));
        e.detail = Some(&detail);
        security::record(&mut tx, e).await?;
        let locale = locale_of(&mut tx, email.as_str()).await?;
        let letter = templates::invitation(
            locale,
            &self.outbox.site,
            &company,
            role,
            &control,
            invitation.expires_at,
        );
        self.outbox.enqueue(&mut tx, email.as_str(), letter).await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// Revokes an open invitation; the address is told.
    ///
    /// # Errors
    /// NOT_FOUND; VALIDATION `INVITATION_ENDED` when it was accepted, revoked or has expired; a database error.
    pub async fn revoke_invitation(
        &self,
        actor: &Actor,
        invitation_id: Uuid,
        client: &Client,
    ) -> Result<Invitation, ApiError> {
        let mut tx = self.pool.begin().await?;
        let found: Option<(Invitation, bool)> = sqlx::query_as::<_, Invitation>(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE invitation_id = $1 AND company_id IS NOT NULL \
             FOR UPDATE"
        ))
        .bind(invitation_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|i| {
            let open =
                i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > Utc::now();
            (i, open)
        });
        let Some((_, open)) = found else {
            return Err(ApiError::NotFound(format!("invitation {invitation_id}")));
        };
        if !open {
            return Err(ApiError::invalid(
                "input.invitationId",
                crate::error::Reason::domain(
                    "INVITATION_ENDED",
                    None,
                    "приглашение уже принято, отозвано или истекло",
                ),
                "the invitation was accepted, revoked or has expired",
            ));
        }
        let invitation: Invitation = sqlx::query_as(&format!(
            "UPDATE invitations SET revoked_at = clock_timestamp(), revoked_by = $2 \
             WHERE invitation_id = $1 RETURNING {INVITATION_COLUMNS}"
        ))
        .bind(invitation_id)
        .bind(actor.account_id)
        .fetch_one(&mut *tx)
        .await?;
        let company = company_name(&mut tx, invitation.company_id).await?;
        let detail = format!("{company}: {invitation_id}");
        let mut e = Entry::new(actor.account_id, Kind::InvitationRevoked, Some(client));
        e.detail = Some(&detail);
        security::record(&mut tx, e).await?;
        let locale = locale_of(&mut tx, &invitation.email).await?;
        self.outbox
            .enqueue(
                &mut tx,
                &invitation.email,
                templates::invitation_revoked(locale, &company),
            )
            .await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// Accepts an invitation by its control string (no session needed: the string proves the mailbox). The
    /// person is admitted with the role offered; one who has no account gets one with a temporary password
    /// mailed. Unknown, used, revoked and expired strings answer alike.
    ///
    /// # Errors
    /// RATE_LIMITED; FORBIDDEN `INVITATION_INVALID`; FORBIDDEN `STAFF_LOGIN` when the address is a staff
    /// login; a database error.
    pub async fn accept_invitation(
        &self,
        control_string: &str,
        client: &Client,
    ) -> Result<Accepted, ApiError> {
        self.limiter
            .check("acceptInvitation", client.address_or_unknown())?;
        let mut tx = self.pool.begin().await?;
        let found: Option<Invitation> = sqlx::query_as(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1 AND company_id IS NOT NULL \
               AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > clock_timestamp() FOR UPDATE"
        ))
        .bind(control::stored(control_string))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(invitation) = found else {
            return Err(refused(
                "INVITATION_INVALID",
                "this control string is unknown, used, revoked or expired; ask for a new invitation",
            ));
        };
        let role = CompanyRole::parse(&invitation.role).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "unknown stored value {:?} in invitations.role",
                invitation.role
            ))
        })?;
        let company = company_name(&mut tx, invitation.company_id).await?;
        let detail = format!(
            "{company} as {} (invitation {})",
            role.as_str(),
            invitation.invitation_id
        );
        let admitted = admit(
            &mut tx,
            &self.outbox,
            &invitation.email,
            invitation.company_id,
            role,
            Kind::InvitationAccepted,
            &detail,
            None,
        )
        .await?;
        if let Admitted::StaffLogin(_) = admitted {
            return Err(refused(
                "STAFF_LOGIN",
                "this address is a staff login of the lessor; it cannot join a client company",
            ));
        }
        sqlx::query(
            "UPDATE invitations SET accepted_at = clock_timestamp(), accepted_by = $2 WHERE invitation_id = $1",
        )
        .bind(invitation.invitation_id)
        .bind(admitted.account_id())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Accepted {
            company_id: invitation.company_id,
            company_name: company,
            role,
            account_created: matches!(admitted, Admitted::Opened(_)),
        })
    }

    /// Changes the role of one of a company's people; the person is told. The same role again changes
    /// nothing.
    ///
    /// # Errors
    /// NOT_FOUND when the account is not one of the company's people; VALIDATION `LAST_DIRECTOR` on `input.accountId` when it
    /// would leave the company without a director; a database error.
    pub async fn change_company_role(
        &self,
        actor: &Actor,
        company_id: Uuid,
        account_id: Uuid,
        role: CompanyRole,
        client: &Client,
    ) -> Result<Person, ApiError> {
        let mut tx = self.pool.begin().await?;
        let people = lock_people(&mut tx, company_id).await?;
        let current = person_role(&people, account_id)?;
        if current != role {
            keeps_a_director(&people, account_id)?;
            sqlx::query(
                "UPDATE account_companies SET role = $3 WHERE company_id = $1 AND account_id = $2",
            )
            .bind(company_id)
            .bind(account_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
            let company = company_name(&mut tx, company_id).await?;
            let detail = format!("{company}: {} → {}", current.as_str(), role.as_str());
            self.tell(
                &mut tx,
                account_id,
                Kind::CompanyRoleChanged,
                actor,
                client,
                &detail,
                |l, site| templates::company_role_changed(l, site, &company, Some(current), role),
            )
            .await?;
        }
        let person = people_row(&mut tx, company_id, account_id).await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Removes one of a company's people (the person may be the caller); the person is told.
    ///
    /// # Errors
    /// NOT_FOUND when the account is not one of the company's people; VALIDATION `LAST_DIRECTOR` on `input.accountId` for the
    /// company's last director; a database error.
    pub async fn remove_from_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        account_id: Uuid,
        client: &Client,
    ) -> Result<(), ApiError> {
        let mut tx = self.pool.begin().await?;
        let people = lock_people(&mut tx, company_id).await?;
        person_role(&people, account_id)?;
        keeps_a_director(&people, account_id)?;
        sqlx::query("DELETE FROM account_companies WHERE company_id = $1 AND account_id = $2")
            .bind(company_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let company = company_name(&mut tx, company_id).await?;
        self.tell(
            &mut tx,
            account_id,
            Kind::RemovedFromCompany,
            actor,
            client,
            &company,
            |l, _| templates::removed_from_company(l, &company),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records `kind` in the person's security log (the actor named) and mails the person.
    #[allow(clippy::too_many_arguments)]
    async fn tell(
        &self,
        tx: &mut PgConnection,
        account_id: Uuid,
        kind: Kind,
        actor: &Actor,
        client: &Client,
        detail: &str,
        letter: impl FnOnce(Locale, &templates::Site) -> templates::Letter,
    ) -> Result<(), ApiError> {
        let mut e = Entry::new(account_id, kind, Some(client));
        e.actor = Some(actor.account_id);
        e.detail = Some(detail);
        security::record(tx, e).await?;
        // Its running subscriptions re-check what it may see now.
        super::sessions::announce(tx, account_id).await?;
        let email: String = sqlx::query_scalar("SELECT email FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
        let locale = accounts::locale(&mut *tx, account_id).await?;
        self.outbox
            .enqueue(tx, &email, letter(locale, &self.outbox.site))
            .await?;
        Ok(())
    }
}

/// What accepting a staff invitation did.
#[derive(Debug, Clone)]
pub struct StaffAccepted {
    /// The new account.
    pub account_id: Uuid,
    /// Its role.
    pub role: Role,
}

impl AccountService {
    /// Invites `email` to the lessor's staff with `role` (an ADMIN's act): a control string valid
    /// [`INVITATION_DAYS`] days is mailed; an open staff invitation to the same address is replaced. The
    /// account is made when the invitation is accepted, with a temporary password.
    ///
    /// # Errors
    /// VALIDATION on `input.email` (malformed, or already an account's login) or `input.role` (CLIENT);
    /// RATE_LIMITED (mails to the address this hour); a database error.
    pub async fn invite_staff(
        &self,
        admin: &Actor,
        email: &str,
        role: Role,
        client: &Client,
    ) -> Result<Uuid, ApiError> {
        if !role.is_staff() {
            return Err(ApiError::validation(
                "input.role",
                "a staff invitation offers a staff role; clients are invited by their company",
            ));
        }
        let email =
            Email::parse(email).map_err(|e| ApiError::validation("input.email", e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)")
                .bind(email.as_str())
                .fetch_one(&mut *tx)
                .await?;
        if exists {
            return Err(ApiError::validation(
                "input.email",
                "this address is already an account's login; change its roles instead",
            ));
        }
        let mailed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE recipient = $1 AND template = 'staff_invitation' \
               AND created_at > clock_timestamp() - interval '1 hour'",
        )
        .bind(email.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if mailed >= i64::from(self.settings.mails_per_recipient_per_hour) {
            return Err(refused(
                "RATE_LIMITED",
                "too many invitations were mailed to this address in the last hour; try later",
            ));
        }
        sqlx::query(
            "UPDATE invitations SET revoked_at = clock_timestamp(), revoked_by = $2 \
             WHERE company_id IS NULL AND email = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(email.as_str())
        .bind(admin.account_id)
        .execute(&mut *tx)
        .await?;
        let control = control::generate();
        let (id, expires): (Uuid, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO invitations (invitation_id, company_id, email, role, token_hash, invited_by, expires_at) \
             VALUES ($1, NULL, $2, $3, $4, $5, clock_timestamp() + make_interval(days => $6::int)) \
             RETURNING invitation_id, expires_at",
        )
        .bind(Uuid::now_v7())
        .bind(email.as_str())
        .bind(role.as_str())
        .bind(control::stored(&control))
        .bind(admin.account_id)
        .bind(INVITATION_DAYS as i32)
        .fetch_one(&mut *tx)
        .await?;
        let detail = format!("staff: {id} as {}", role.as_str());
        let mut e = Entry::new(admin.account_id, Kind::ColleagueInvited, Some(client));
        e.detail = Some(&detail);
        security::record(&mut tx, e).await?;
        let letter = templates::staff_invitation(
            Locale::Ru,
            &self.outbox.site,
            role.as_str(),
            &control,
            expires,
        );
        self.outbox.enqueue(&mut tx, email.as_str(), letter).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Accepts a staff invitation by its control string (no session): the staff account is made with the
    /// role offered and a temporary password mailed (an ADMIN then enrols two-factor sign-in). Unknown,
    /// used, revoked and expired strings answer alike.
    ///
    /// # Errors
    /// RATE_LIMITED; FORBIDDEN `INVITATION_INVALID`; a database error.
    pub async fn accept_staff_invitation(
        &self,
        control_string: &str,
        client: &Client,
    ) -> Result<StaffAccepted, ApiError> {
        self.limiter
            .check("acceptInvitation", client.address_or_unknown())?;
        let invalid = || {
            refused(
                "INVITATION_INVALID",
                "this control string is unknown, used, revoked or expired; ask for a new invitation",
            )
        };
        let mut tx = self.pool.begin().await?;
        let found: Option<(Uuid, String, String)> = sqlx::query_as(
            "SELECT invitation_id, email, role FROM invitations WHERE token_hash = $1 AND company_id IS NULL \
               AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > clock_timestamp() FOR UPDATE",
        )
        .bind(control::stored(control_string))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((invitation, email, role)) = found else {
            return Err(invalid());
        };
        let role = Role::parse(&role)
            .filter(|r| r.is_staff())
            .ok_or_else(invalid)?;
        let password = passwords::generate_temporary();
        let hash = passwords::hash_async(passwords::SYSTEM, password.clone()).await?;
        // The login may have been taken since the invitation (a client's contract): then nothing is made.
        let account_id: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO accounts (account_id, email, password_hash, roles, must_change_password) \
             VALUES ($1, $2, $3, ARRAY[$4], true) ON CONFLICT (email) DO NOTHING RETURNING account_id",
        )
        .bind(Uuid::now_v7())
        .bind(&email)
        .bind(&hash)
        .bind(role.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(account_id) = account_id else {
            return Err(refused(
                "STAFF_LOGIN",
                "this address became an account's login meanwhile; ask an administrator",
            ));
        };
        let expires = accounts::set_temporary_password(&mut tx, account_id, &hash).await?;
        let detail = format!("staff invitation {invitation} as {}", role.as_str());
        let mut e = Entry::new(account_id, Kind::InvitationAccepted, Some(client));
        e.detail = Some(&detail);
        security::record(&mut tx, e).await?;
        sqlx::query(
            "UPDATE invitations SET accepted_at = clock_timestamp(), accepted_by = $2 WHERE invitation_id = $1",
        )
        .bind(invitation)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        let letter = templates::temporary_password(
            Locale::Ru,
            &self.outbox.site,
            "лизинговой компании",
            &email,
            &password,
            expires,
        );
        self.outbox.enqueue(&mut tx, &email, letter).await?;
        tx.commit().await?;
        Ok(StaffAccepted { account_id, role })
    }
}

/// The role `account_id` holds among `people`.
fn person_role(people: &[(Uuid, String)], account_id: Uuid) -> Result<CompanyRole, ApiError> {
    people
        .iter()
        .find(|p| p.0 == account_id)
        .and_then(|p| CompanyRole::parse(&p.1))
        .ok_or_else(|| ApiError::NotFound(format!("person {account_id} of this company")))
}

/// Refuses a change that takes the director role from the company's last director.
fn keeps_a_director(people: &[(Uuid, String)], changed: Uuid) -> Result<(), ApiError> {
    let director = CompanyRole::Director.as_str();
    let is_director = people.iter().any(|p| p.0 == changed && p.1 == director);
    let others = people
        .iter()
        .filter(|p| p.0 != changed && p.1 == director)
        .count();
    if is_director && others == 0 {
        return Err(ApiError::invalid(
            "input.accountId",
            crate::error::Reason::domain(
                "LAST_DIRECTOR",
                None,
                "у компании должен остаться руководитель: сначала назначьте руководителем другого человека",
            ),
            "the company's last director cannot be removed or given another role; make another person director first",
        ));
    }
    Ok(())
}

async fn people_row(
    conn: &mut PgConnection,
    company_id: Uuid,
    account_id: Uuid,
) -> Result<Person, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.account_id, a.email, l.role, l.linked_at, a.blocked_at IS NOT NULL AS blocked \
         FROM account_companies l JOIN accounts a USING (account_id) \
         WHERE l.company_id = $1 AND l.account_id = $2",
    )
    .bind(company_id)
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await
}

/// The mail language of the account with login `email` (Russian for an address with no account).
async fn locale_of(conn: &mut PgConnection, email: &str) -> Result<Locale, sqlx::Error> {
    let code: Option<String> = sqlx::query_scalar("SELECT locale FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(Locale::parse(code.as_deref().unwrap_or_default()))
}
