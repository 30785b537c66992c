//! Contracts and schedules from the accounting system (docs/formats.md "Contracts"): each line of the file is
//! a contract under the accounting system's id. A contract the cabinet does not have is concluded with the
//! file's schedule (its id derived from the external id, so the same line always names the same contract);
//! one it has gets the file's schedule — the lines that differ and are not yet due or paid are replaced,
//! with an event that says so (`ScheduleReplaced`) — and its fine fee. A line as the cabinet already has it
//! changes nothing.

use std::collections::{HashMap, HashSet};

use domain::contract::{Advance, ContractCommand, ContractError, ContractTerms, LeasingSubject};
use domain::penalty::PenaltyTerms;
use domain::policy::{
    PolicyCommand, PolicyError, PolicyKind, PolicyTerms, PremiumPayer, Prolongation,
};
use domain::schedule::{RedemptionKind, ScheduleKind};
use domain::values::{Email, Money, Vin};
use formats::contracts::ContractRecord;
use formats::Rejected;
use projections::store::event::CommandMeta;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{hashed, records_in_chunks, Importer, Report, Tally};
use crate::error::ApiError;

/// The namespace of the ids of imported contracts: a contract's id is the UUID v5 of its external id in it.
pub const IMPORTED_CONTRACTS: Uuid = Uuid::from_u128(0x1c0c_7a1e_0000_4000_8000_636f_6e74_7261);

/// The namespace of the ids of imported policies.
pub const IMPORTED_POLICIES: Uuid = Uuid::from_u128(0x1c0c_7a1e_0000_4000_8000_706f_6c69_6379);

/// The cabinet's id of the policy the accounting system calls `external_id`.
pub fn policy_id(external_id: &str) -> Uuid {
    Uuid::new_v5(&IMPORTED_POLICIES, external_id.trim().as_bytes())
}

/// The cabinet's id of the contract the accounting system calls `external_id`.
pub fn contract_id(external_id: &str) -> Uuid {
    Uuid::new_v5(&IMPORTED_CONTRACTS, external_id.trim().as_bytes())
}

type Chunk = Vec<Result<ContractRecord, Rejected>>;

fn money(field: &str, raw: &str) -> Result<Money, (String, String)> {
    Money::parse(raw).map_err(|e| (field.to_owned(), e.reason))
}

fn optional_money(field: &str, raw: &Option<String>) -> Result<Money, (String, String)> {
    raw.as_deref().map_or(Ok(Money::ZERO), |r| money(field, r))
}

fn decimal(field: &str, raw: &str) -> Result<Decimal, (String, String)> {
    raw.trim()
        .parse()
        .map_err(|_| (field.to_owned(), format!("«{raw}» is not a number")))
}

/// The record as the terms of a contract of `company` (the field at fault and why, when it cannot be).
fn terms(r: &ContractRecord, company: Uuid) -> Result<ContractTerms, (String, String)> {
    let contact_email =
        Email::parse(&r.contact_email).map_err(|e| ("contactEmail".to_owned(), e.reason))?;
    let vin = r
        .subject
        .vin
        .as_deref()
        .map(Vin::parse)
        .transpose()
        .map_err(|e| ("subject.vin".to_owned(), e.reason))?;
    let explicit = r
        .schedule
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok((
                l.due_date,
                money(&format!("schedule[{i}].amount"), &l.amount)?,
            ))
        })
        .collect::<Result<Vec<_>, (String, String)>>()?;
    let redemption_kind = match r.redemption_kind.as_deref() {
        None => None,
        Some("symbolic") => Some(RedemptionKind::Symbolic),
        Some("residual") => Some(RedemptionKind::Residual),
        Some(other) => {
            return Err((
                "redemptionKind".into(),
                format!("«{other}» is not symbolic or residual"),
            ))
        }
    };
    Ok(ContractTerms {
        contract_id: contract_id(&r.external_id),
        company_id: company,
        number: r.number.clone(),
        date: r.date,
        contact_email,
        subject: LeasingSubject {
            kind: r.subject.kind.clone(),
            make: r.subject.make.clone(),
            model: r.subject.model.clone(),
            year: r.subject.year,
            vin,
            serial_number: r.subject.serial_number.clone(),
            registration_plate: r.subject.registration_plate.clone(),
        },
        price: money("price", &r.price)?,
        advance: Advance::Amount(optional_money("advance", &r.advance)?),
        term_months: u32::try_from(explicit.len()).unwrap_or(u32::MAX),
        annual_rate: r
            .annual_rate
            .as_deref()
            .map_or(Ok(Decimal::ZERO), |a| decimal("annualRate", a))?,
        first_due_date: explicit.first().map_or(r.date, |l| l.0),
        schedule_kind: ScheduleKind::Explicit,
        explicit_lines: explicit,
        redemption: optional_money("redemption", &r.redemption)?,
        redemption_kind,
        penalty: PenaltyTerms {
            rate_per_day: decimal("penalty.ratePerDay", &r.penalty.rate_per_day)?,
            base_includes_vat: r.penalty.base_includes_vat,
            payment_day_counts: r.penalty.payment_day_counts,
        },
    })
}

/// A policy of the file as it stands in the cabinet: (contract, number, last day of cover, premium of the
/// period, kind).
type KnownPolicy = (Uuid, String, chrono::NaiveDate, Decimal, String);

/// The command that brings policy `i` of `contract` to the file's (none: as the cabinet has it), or the field
/// at fault and why.
fn policy_command(
    i: usize,
    p: &formats::contracts::PolicyRecord,
    contract: Uuid,
    known: Option<&KnownPolicy>,
) -> Result<Option<PolicyCommand>, (String, String)> {
    let at = |f: &str| format!("policies[{i}].{f}");
    let premium = money(&at("premium"), &p.premium)?;
    let installments = p
        .installments
        .iter()
        .enumerate()
        .map(|(j, l)| {
            Ok((
                l.due_date,
                money(&at(&format!("installments[{j}].amount")), &l.amount)?,
            ))
        })
        .collect::<Result<Vec<_>, (String, String)>>()?;
    let kind = match p.kind.trim() {
        "osago" => PolicyKind::Osago,
        "kasko" => PolicyKind::Kasko,
        "property" => PolicyKind::Property,
        "other" => PolicyKind::Other,
        other => {
            return Err((
                at("kind"),
                format!("«{other}» is not osago, kasko, property or other"),
            ))
        }
    };
    let payer = match p.payer.trim() {
        "lessor" => PremiumPayer::Lessor,
        "lessee" => PremiumPayer::Lessee,
        other => return Err((at("payer"), format!("«{other}» is not lessor or lessee"))),
    };
    let Some((on, number, ends_on, had_premium, had_kind)) = known else {
        return Ok(Some(PolicyCommand::IssuePolicy(Box::new(PolicyTerms {
            policy_id: policy_id(&p.external_id),
            contract_id: contract,
            insurer: p.insurer.clone(),
            kind,
            number: p.number.clone(),
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            sum_insured: money(&at("sumInsured"), &p.sum_insured)?,
            premium,
            installments,
            payer,
            form: None,
        }))));
    };
    if *on != contract {
        return Err((
            at("externalId"),
            "the policy is of another contract in the cabinet".into(),
        ));
    }
    if p.ends_on > *ends_on {
        // The accounting system's next period: the policy is prolonged.
        return Ok(Some(PolicyCommand::ProlongPolicy(Box::new(Prolongation {
            ends_on: p.ends_on,
            premium,
            installments,
            number: (p.number.trim() != number).then(|| p.number.trim().to_owned()),
            form: None,
        }))));
    }
    // The same period: nothing to do when the file has it as the cabinet does.
    let differs = if p.ends_on != *ends_on {
        "endsOn"
    } else if kind.as_str() != had_kind {
        "kind"
    } else if p.number.trim() != number {
        "number"
    } else if premium.amount() != *had_premium {
        "premium"
    } else {
        return Ok(None);
    };
    Err((
        at(differs),
        "differs from the policy's current period in the cabinet: only a later period (a prolongation) is \
         imported; a change within the period is made in the cabinet"
            .into(),
    ))
}

/// The field a policy's refusal is about, as the file names it.
fn policy_refused(i: usize, e: &PolicyError) -> (String, String) {
    let field = match e {
        PolicyError::BadText { field, .. }
        | PolicyError::NotPositive { field }
        | PolicyError::PeriodNotAfterStart { field }
        | PolicyError::BeforeCover { field } => format!("policies[{i}].{field}"),
        PolicyError::InstallmentsDoNotAddUp { .. } | PolicyError::InstallmentAfterCover(_) => {
            format!("policies[{i}].installments")
        }
        _ => format!("policies[{i}]"),
    };
    (field, e.to_string())
}

/// The field a contract's refusal is about, as the file names it.
fn refused(e: &ContractError) -> (String, String) {
    let field = match e {
        ContractError::OutOfRange { field, .. } => (*field).to_owned(),
        ContractError::Schedule(_) => "schedule".to_owned(),
        ContractError::CompanyNotFound => "company".to_owned(),
        ContractError::SubjectNotIdentified => "subject".to_owned(),
        _ => "contract".to_owned(),
    };
    (field, e.to_string())
}

/// Where one contract of the file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Changed,
    Unchanged,
}

impl Importer {
    /// Imports contracts and schedules from the accounting system's file `file` (its name as given: `name`)
    /// as `meta`'s actor.
    ///
    /// # Errors
    /// VALIDATION on `file` when it is not a contracts file (nothing is stored); a database error.
    pub async fn contracts(
        &self,
        file: std::fs::File,
        name: &str,
        meta: &CommandMeta,
    ) -> Result<Report, ApiError> {
        let (sha256, size, head, file) = hashed(file).await?;
        if !formats::contracts::detect(&head) {
            return Err(ApiError::validation(
                "file",
                "not a contracts file: expected JSON Lines, one contract object per line",
            ));
        }
        let (import_id, meta) = self
            .begin("contracts", "jsonl", name, &sha256, size, meta)
            .await?;
        let source = format!("import:{import_id}");
        let mut chunks =
            records_in_chunks(file, |input| Ok(formats::contracts::Reader::new(input)));
        let mut seen: HashSet<String> = HashSet::new();
        let run = async {
            while let Some(chunk) = chunks.recv().await {
                match chunk {
                    Ok(items) => {
                        let tally = self
                            .contracts_chunk(items, &mut seen, &source, &meta)
                            .await?;
                        self.tally(import_id, &[], &tally).await?;
                    }
                    Err(e) => return Ok(Some(e.to_string())),
                }
            }
            Ok::<_, ApiError>(None)
        };
        let r = self.finish(import_id, run.await).await?;
        tracing::info!(
            import = %import_id, file = name, lines = r.lines, created = r.matched, changed = r.changed,
            unchanged = r.duplicates, rejected = r.rejected, status = %r.status,
            "contracts imported"
        );
        Ok(r)
    }

    async fn contracts_chunk(
        &self,
        items: Chunk,
        seen: &mut HashSet<String>,
        source: &str,
        meta: &CommandMeta,
    ) -> Result<Tally, ApiError> {
        let mut t = Tally::default();
        // The field at fault and why, as the helpers below name them.
        let reject = |t: &mut Tally, place: usize, (field, reason): (String, String)| {
            t.reject(place, field, reason)
        };
        let mut records = Vec::new();
        for item in items {
            t.lines += 1;
            match item {
                Err(r) => reject(&mut t, r.place, (r.field, r.reason)),
                Ok(r) if r.external_id.trim().is_empty() => {
                    reject(&mut t, r.place, ("externalId".into(), "is empty".into()))
                }
                // The same contract twice in the file: the first stands.
                Ok(r) if !seen.insert(r.external_id.trim().to_owned()) => t.duplicates += 1,
                Ok(r) => records.push(r),
            }
        }
        if records.is_empty() {
            return Ok(t);
        }
        let ids: Vec<Uuid> = records
            .iter()
            .map(|r| contract_id(&r.external_id))
            .collect();
        let existing: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
            "SELECT contract_id, number FROM contracts_view WHERE contract_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        let inns: Vec<&str> = records.iter().map(|r| r.company.inn.trim()).collect();
        let companies: Vec<(Uuid, String, Option<String>)> =
            sqlx::query_as("SELECT company_id, inn, kpp FROM companies_view WHERE inn = ANY($1)")
                .bind(&inns)
                .fetch_all(&self.pool)
                .await?;
        let today: chrono::NaiveDate = sqlx::query_scalar(
            "SELECT coalesce((SELECT business_date FROM business_day_view), current_date)",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut first = Vec::new();
        let mut fees = Vec::new();
        let mut values = Vec::new();
        let mut policy_lists = Vec::new();
        let mut places: HashMap<String, usize> = HashMap::new();
        for r in records {
            let id = contract_id(&r.external_id);
            let key = id.to_string();
            places.insert(key.clone(), r.place);
            let command = match existing.get(&id) {
                Some(number) if *number != r.number.trim() => {
                    reject(
                        &mut t,
                        r.place,
                        (
                            "number".into(),
                            format!("the contract's number is «{number}»: it cannot change"),
                        ),
                    );
                    continue;
                }
                Some(_) => {
                    let lines = r
                        .schedule
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            Ok((
                                l.due_date,
                                money(&format!("schedule[{i}].amount"), &l.amount)?,
                            ))
                        })
                        .collect::<Result<Vec<_>, (String, String)>>()
                        .and_then(|lines| {
                            Ok((lines, optional_money("redemption", &r.redemption)?))
                        });
                    match lines {
                        Ok((lines, redemption)) => ContractCommand::ReplaceSchedule {
                            date: today,
                            lines,
                            redemption,
                            source: source.to_owned(),
                        },
                        Err(e) => {
                            reject(&mut t, r.place, e);
                            continue;
                        }
                    }
                }
                None => {
                    let inn = r.company.inn.trim();
                    let kpp = r.company.kpp.as_deref().map(str::trim);
                    let with_inn: Vec<&(Uuid, String, Option<String>)> =
                        companies.iter().filter(|c| c.1 == inn).collect();
                    let chosen: Vec<&&(Uuid, String, Option<String>)> = match kpp {
                        Some(k) => with_inn
                            .iter()
                            .filter(|c| c.2.as_deref() == Some(k))
                            .collect(),
                        None => with_inn.iter().collect(),
                    };
                    let company = match chosen.as_slice() {
                        [one] => one.0,
                        [] => {
                            reject(
                                &mut t,
                                r.place,
                                (
                                    "company".into(),
                                    format!(
                                        "no company of the cabinet has ИНН {inn}{}",
                                        kpp.map(|k| format!(" and КПП {k}")).unwrap_or_default()
                                    ),
                                ),
                            );
                            continue;
                        }
                        _ => {
                            reject(
                                &mut t,
                                r.place,
                                (
                                    "company.kpp".into(),
                                    format!("several companies have ИНН {inn}: give the КПП"),
                                ),
                            );
                            continue;
                        }
                    };
                    match terms(&r, company) {
                        Ok(terms) => ContractCommand::ConcludeContract(Box::new(terms)),
                        Err(e) => {
                            reject(&mut t, r.place, e);
                            continue;
                        }
                    }
                }
            };
            // What follows the contract's conclusion or schedule: its fine fee and book value.
            if let Some(fee) = &r.fine_fee {
                match money("fineFee", fee) {
                    Ok(fee) => fees.push((key.clone(), ContractCommand::AgreeFineFee { fee })),
                    Err(e) => {
                        reject(&mut t, r.place, e);
                        continue;
                    }
                }
            }
            if let Some(b) = &r.book_value {
                match money("bookValue.amount", &b.amount) {
                    Ok(amount) => values.push((
                        key.clone(),
                        ContractCommand::ReportBookValue {
                            as_of: b.as_of,
                            amount,
                            source: source.to_owned(),
                        },
                    )),
                    Err(e) => {
                        fees.retain(|(k, _)| *k != key);
                        reject(&mut t, r.place, e);
                        continue;
                    }
                }
            }
            if !r.policies.is_empty() {
                policy_lists.push((key.clone(), r.place, id, r.policies.clone()));
            }
            first.push((key, command));
        }
        let created: HashSet<String> = first
            .iter()
            .filter(|(_, c)| matches!(c, ContractCommand::ConcludeContract(_)))
            .map(|(k, _)| k.clone())
            .collect();
        let mut outcomes: HashMap<String, Outcome> = HashMap::new();
        for (key, outcome) in self
            .contracts
            .execute_many(first, meta)
            .await
            .map_err(crate::error::command_error)?
        {
            let place = places.get(&key).copied().unwrap_or_default();
            match outcome {
                Ok(_) if created.contains(&key) => {
                    outcomes.insert(key, Outcome::Created);
                }
                Ok(0) => {
                    outcomes.insert(key, Outcome::Unchanged);
                }
                Ok(_) => {
                    outcomes.insert(key, Outcome::Changed);
                }
                // Concluded meanwhile by another import of the same file.
                Err(ContractError::AlreadyConcluded) => {
                    outcomes.insert(key, Outcome::Unchanged);
                }
                Err(e) => reject(&mut t, place, refused(&e)),
            }
        }
        // The fee, then the book value (a batch takes one command per contract), for the contracts that stand.
        for mut follow in [fees, values] {
            follow.retain(|(k, _)| outcomes.contains_key(k));
            if follow.is_empty() {
                continue;
            }
            for (key, outcome) in self
                .contracts
                .execute_many(follow, meta)
                .await
                .map_err(crate::error::command_error)?
            {
                match outcome {
                    Ok(n) if n > 0 => {
                        if let Some(o @ Outcome::Unchanged) = outcomes.get_mut(&key) {
                            *o = Outcome::Changed;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let place = places.get(&key).copied().unwrap_or_default();
                        outcomes.remove(&key);
                        reject(&mut t, place, refused(&e));
                    }
                }
            }
        }
        // The policies, for the contracts that stand: new ones issued, a later period prolonging one.
        policy_lists.retain(|(k, ..)| outcomes.contains_key(k));
        if !policy_lists.is_empty() {
            let ids: Vec<Uuid> = policy_lists
                .iter()
                .flat_map(|(_, _, _, list)| list.iter().map(|p| policy_id(&p.external_id)))
                .collect();
            let known: HashMap<Uuid, KnownPolicy> = sqlx::query_as::<
                _,
                (Uuid, Uuid, String, chrono::NaiveDate, Decimal, String),
            >(
                // The premium of the current period: its installments (`premium` totals every period).
                "SELECT p.policy_id, p.contract_id, p.number, p.ends_on, \
                   coalesce((SELECT sum(i.amount) FROM policy_installments_view i \
                             WHERE i.policy_id = p.policy_id AND i.due_date >= p.starts_on), p.premium), \
                   p.kind FROM policies_view p WHERE p.policy_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(p, c, n, e, a, k)| (p, (c, n, e, a, k)))
            .collect();
            let mut commands = Vec::new();
            let mut owners: HashMap<String, (String, usize, usize)> = HashMap::new();
            for (key, place, contract, list) in policy_lists {
                let mut mine = Vec::new();
                let mut bad = None;
                for (i, p) in list.iter().enumerate() {
                    let id = policy_id(&p.external_id);
                    match policy_command(i, p, contract, known.get(&id)) {
                        Ok(Some(c)) => mine.push((id.to_string(), c, i)),
                        Ok(None) => {}
                        Err(e) => {
                            bad = Some(e);
                            break;
                        }
                    }
                }
                if let Some(e) = bad {
                    outcomes.remove(&key);
                    reject(&mut t, place, e);
                    continue;
                }
                for (id, c, i) in mine {
                    owners.insert(id.clone(), (key.clone(), place, i));
                    commands.push((id, c));
                }
            }
            if !commands.is_empty() {
                for (id, outcome) in self
                    .policies
                    .execute_many(commands, meta)
                    .await
                    .map_err(crate::error::command_error)?
                {
                    let Some((key, place, i)) = owners.get(&id).cloned() else {
                        continue;
                    };
                    match outcome {
                        Ok(n) if n > 0 => {
                            if let Some(o @ Outcome::Unchanged) = outcomes.get_mut(&key) {
                                *o = Outcome::Changed;
                            }
                        }
                        // Issued meanwhile by another import of the same file.
                        Ok(_) | Err(PolicyError::AlreadyIssued) => {}
                        Err(e) => {
                            if outcomes.remove(&key).is_some() {
                                reject(&mut t, place, policy_refused(i, &e));
                            }
                        }
                    }
                }
            }
        }
        for o in outcomes.values() {
            match o {
                Outcome::Created => t.matched += 1,
                Outcome::Changed => t.changed += 1,
                Outcome::Unchanged => t.duplicates += 1,
            }
        }
        Ok(t)
    }
}
