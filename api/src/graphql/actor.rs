//! Who did something, as a frontend shows it: the `Actor` type in place of the `account:<uuid>` /
//! `system:<process>` strings the event metadata keeps. Accounts are looked up in batches (one query for
//! every actor a response names) and shown as the caller may see them: staff and the account itself see
//! the e-mail; a client sees a colleague's masked and the lessor's staff as the lessor.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, Object};
use sqlx::PgPool;
use uuid::Uuid;

use super::context::request;
use super::enums::{Language, Role};
use crate::auth::Role as AuthRole;

/// What kind of actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ActorKind {
    /// A person's account.
    Account,
    /// The system: a process manager or a scheduled job.
    System,
}

/// An account as an actor is shown.
#[derive(Debug, Clone)]
pub struct AccountCard {
    email: String,
    roles: Vec<AuthRole>,
    gone: bool,
}

/// Loads accounts for actors, many at a time.
pub struct AccountLoader(pub PgPool);

impl Loader<Uuid> for AccountLoader {
    type Value = AccountCard;
    type Error = Arc<sqlx::Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, AccountCard>, Self::Error> {
        let rows: Vec<(Uuid, String, Vec<String>, bool)> = sqlx::query_as(
            "SELECT account_id, email, roles, \
                    (deleted_at IS NOT NULL OR personal_data_destroyed_at IS NOT NULL) \
             FROM accounts WHERE account_id = ANY($1)",
        )
        .bind(keys)
        .fetch_all(&self.0)
        .await
        .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|(id, email, roles, gone)| {
                let roles = roles.iter().filter_map(|r| AuthRole::parse(r)).collect();
                (id, AccountCard { email, roles, gone })
            })
            .collect())
    }
}

/// The loader the schema carries (batching only, no cache across requests).
pub fn loader(pool: PgPool) -> DataLoader<AccountLoader> {
    DataLoader::new(AccountLoader(pool), tokio::spawn)
}

/// Who did something.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    fn account(&self) -> Option<Uuid> {
        self.0.strip_prefix("account:")?.parse().ok()
    }

    async fn card(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountCard>> {
        let Some(id) = self.account() else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<DataLoader<AccountLoader>>()
            .load_one(id)
            .await
            .map_err(|e| crate::error::ApiError::Internal(anyhow::anyhow!("accounts: {e}")))?)
    }
}

/// The caller: the account and whether it is staff.
fn caller(ctx: &Context<'_>) -> (Option<Uuid>, bool) {
    match request(ctx).ok().and_then(|r| r.actor.as_ref()) {
        Some(a) => (Some(a.account_id), a.is_staff()),
        None => (None, false),
    }
}

/// The role an account is shown with: its most senior.
fn main_role(roles: &[AuthRole]) -> Option<AuthRole> {
    [
        AuthRole::Admin,
        AuthRole::Manager,
        AuthRole::Accountant,
        AuthRole::Auditor,
        AuthRole::Client,
    ]
    .into_iter()
    .find(|r| roles.contains(r))
}

#[Object]
impl Actor {
    /// A person's account or the system.
    async fn kind(&self) -> ActorKind {
        if self.0.starts_with("account:") {
            ActorKind::Account
        } else {
            ActorKind::System
        }
    }

    /// The actor as the event log names it (`account:<uuid>`, `system:<process>`: what
    /// `EventFilterInput.actor` takes), for staff and for the account itself; `null` to a client for
    /// anyone else.
    async fn log_name(&self, ctx: &Context<'_>) -> Option<&str> {
        let (me, staff) = caller(ctx);
        (staff || self.account().is_none() || me == self.account()).then_some(self.0.as_str())
    }

    /// The account, for staff and for the account itself; `null` otherwise and for the system.
    async fn account_id(&self, ctx: &Context<'_>) -> Option<Uuid> {
        let id = self.account()?;
        let (me, staff) = caller(ctx);
        (staff || me == Some(id)).then_some(id)
    }

    /// The account's most senior role (`null` for the system and for an account that is gone).
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        Ok(self
            .card(ctx)
            .await?
            .filter(|c| !c.gone)
            .and_then(|c| main_role(&c.roles))
            .map(Into::into))
    }

    /// The process, for the system (`effects`, `notifications`, `clock`, …).
    async fn process(&self) -> Option<&str> {
        self.0.strip_prefix("system:")
    }

    /// What to show: the e-mail to staff and to the account itself, a colleague's masked
    /// (`i.***@romashka.ru`) to a client, the lessor for its staff seen by a client, a deleted account as
    /// such, and the system as the system.
    async fn display_name(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] language: Language,
    ) -> async_graphql::Result<String> {
        let ru = language == Language::Ru;
        let Some(id) = self.account() else {
            return Ok(if ru { "Система" } else { "System" }.to_owned());
        };
        let Some(card) = self.card(ctx).await? else {
            return Ok(if ru {
                "Неизвестная учётная запись"
            } else {
                "Unknown account"
            }
            .to_owned());
        };
        if card.gone {
            return Ok(if ru {
                "Удалённая учётная запись"
            } else {
                "Deleted account"
            }
            .to_owned());
        }
        let (me, staff) = caller(ctx);
        Ok(if staff || me == Some(id) {
            card.email
        } else if card.roles.iter().any(|r| r.is_staff()) {
            if ru {
                "Лизинговая компания"
            } else {
                "The lessor"
            }
            .to_owned()
        } else {
            crate::mail::templates::mask_email(&card.email)
        })
    }
}
