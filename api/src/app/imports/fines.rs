//! The traffic fines register (docs/formats.md "Fines register"): each resolution is matched to the
//! contract leasing the vehicle — by VIN, else by plate — and re-billed on it (`RegisterTrafficFine`, with
//! the offence's article and the register's discount day: the contract decides the discount and adds the
//! fee its terms agree). A resolution registered before (this file or another) is a duplicate and changes
//! nothing; one whose vehicle no open contract leases is rejected with the reason, for staff to look at.

use std::collections::{HashMap, HashSet};

use domain::contract::{ContractCommand, ContractError};
use domain::values::Money;
use formats::fines::{plate_key, FineLine, RegisterFormat};
use formats::Rejected;
use projections::store::event::CommandMeta;
use uuid::Uuid;

use super::{hashed, records_in_chunks, Importer, Report, Tally};
use crate::error::ApiError;

/// What the reading thread hands over.
type Chunk = Vec<Result<FineLine, Rejected>>;

/// A contract that may lease a register's vehicle.
struct Candidate {
    contract_id: Uuid,
    number: String,
    status: String,
    vin: Option<String>,
    plate: Option<String>,
}

/// The register's field a refusal of the contract is about.
fn register_field(field: &str) -> &'static str {
    match field {
        "resolutionNumber" => "UIN",
        "amount" => "Amount",
        "article" => "Article",
        "discountUntil" => "DiscountUntil",
        "vehicle" => "Plate",
        "description" => "Description",
        _ => "Fine",
    }
}

impl Importer {
    /// Imports a traffic fines register from `file` (its name as given: `name`) as `meta`'s actor.
    ///
    /// # Errors
    /// VALIDATION on `file` when it is not a register (nothing is stored); a database error. A file that
    /// breaks off midway is reported `failed` with the reason, keeping what was registered before.
    pub async fn fines(
        &self,
        file: std::fs::File,
        name: &str,
        meta: &CommandMeta,
    ) -> Result<Report, ApiError> {
        let (sha256, size, head, file) = hashed(file).await?;
        let Some(format) = RegisterFormat::detect(&head) else {
            return Err(ApiError::validation(
                "file",
                "not a fines register: expected a CSV file with a header row or a <FinesRegister> XML file",
            ));
        };
        let (import_id, meta) = self
            .begin("fines_register", format.as_str(), name, &sha256, size, meta)
            .await?;
        let mut chunks = records_in_chunks(file, move |input| {
            formats::fines::Reader::new(input, format)
        });
        let mut seen: HashSet<String> = HashSet::new();
        let run = async {
            while let Some(chunk) = chunks.recv().await {
                match chunk {
                    Ok(items) => {
                        let tally = self.fines_chunk(items, &mut seen, &meta).await?;
                        self.tally(import_id, &[], &tally).await?;
                    }
                    // The header, or a file that breaks off: before anything was read, nothing is stored.
                    Err(e) => return Ok(Some(e.to_string())),
                }
            }
            Ok::<_, ApiError>(None)
        };
        let r = self.finish(import_id, run.await).await?;
        tracing::info!(
            import = %import_id, file = name, lines = r.lines, registered = r.matched,
            duplicates = r.duplicates, rejected = r.rejected, status = %r.status,
            "fines register imported"
        );
        Ok(r)
    }

    async fn fines_chunk(
        &self,
        items: Chunk,
        seen: &mut HashSet<String>,
        meta: &CommandMeta,
    ) -> Result<Tally, ApiError> {
        let mut t = Tally::default();
        let mut lines = Vec::new();
        for item in items {
            t.lines += 1;
            match item {
                Err(r) => t.reject(r.place, r.field, r.reason),
                // The same resolution twice in the file.
                Ok(line) if !seen.insert(line.uin.clone()) => t.duplicates += 1,
                Ok(line) => lines.push(line),
            }
        }
        if lines.is_empty() {
            return Ok(t);
        }
        // Resolutions registered before: the register is sent again and again as it grows.
        let uins: Vec<&str> = lines.iter().map(|l| l.uin.as_str()).collect();
        let known: HashSet<String> = sqlx::query_scalar(
            "SELECT resolution_number FROM fines_view WHERE resolution_number = ANY($1)",
        )
        .bind(&uins)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        lines.retain(|l| {
            let dup = known.contains(&l.uin);
            if dup {
                t.duplicates += 1;
            }
            !dup
        });
        let vins: Vec<&str> = lines.iter().filter_map(|l| l.vin.as_deref()).collect();
        let plates: Vec<String> = lines
            .iter()
            .filter_map(|l| l.plate.as_deref().map(plate_key))
            .collect();
        let candidates: Vec<Candidate> = sqlx::query_as::<_, (Uuid, String, String, Option<String>, Option<String>)>(
            "SELECT contract_id, number, status, upper(vin), plate_key(registration_plate) FROM contracts_view \
             WHERE upper(vin) = ANY($1) OR plate_key(registration_plate) = ANY($2) \
             ORDER BY contract_date, number",
        )
        .bind(&vins)
        .bind(&plates)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(contract_id, number, status, vin, plate)| Candidate {
            contract_id,
            number,
            status,
            vin,
            plate,
        })
        .collect();
        // Each fine's contract, or why there is none.
        let mut waves: Vec<Vec<(usize, Uuid, FineLine)>> = Vec::new();
        for line in lines {
            let by_vin: Vec<&Candidate> = line
                .vin
                .as_ref()
                .map(|v| {
                    candidates
                        .iter()
                        .filter(|c| c.vin.as_ref() == Some(v))
                        .collect()
                })
                .unwrap_or_default();
            let (field, found) = if by_vin.is_empty() {
                let key = line.plate.as_deref().map(plate_key);
                let by_plate: Vec<&Candidate> = candidates
                    .iter()
                    .filter(|c| key.is_some() && c.plate == key)
                    .collect();
                ("Plate", by_plate)
            } else {
                ("VIN", by_vin)
            };
            let field = if found.is_empty() && line.vin.is_some() {
                "VIN"
            } else {
                field
            };
            let open: Vec<&&Candidate> = found
                .iter()
                .filter(|c| matches!(c.status.as_str(), "concluded" | "active"))
                .collect();
            let contract = match open.as_slice() {
                [one] => one.contract_id,
                [] if found.is_empty() => {
                    t.reject(
                        line.place,
                        field,
                        "no contract leases a vehicle with this VIN or plate",
                    );
                    continue;
                }
                [] => {
                    let numbers: Vec<String> = found
                        .iter()
                        .map(|c| format!("№ {} ({})", c.number, c.status))
                        .collect();
                    t.reject(
                        line.place,
                        field,
                        format!(
                            "the contracts leasing this vehicle are not in force: {}",
                            numbers.join(", ")
                        ),
                    );
                    continue;
                }
                several => {
                    let numbers: Vec<String> =
                        several.iter().map(|c| format!("№ {}", c.number)).collect();
                    t.reject(
                        line.place,
                        field,
                        format!(
                            "several contracts in force lease this vehicle: {}",
                            numbers.join(", ")
                        ),
                    );
                    continue;
                }
            };
            // One command per contract in a batch: the n-th fine of a contract goes in the n-th wave.
            let wave = waves
                .iter()
                .position(|w| !w.iter().any(|(_, c, _)| *c == contract));
            match wave {
                Some(i) => waves[i].push((line.place, contract, line)),
                None => waves.push(vec![(line.place, contract, line)]),
            }
        }
        for wave in waves {
            let mut places: HashMap<String, (usize, Money)> = HashMap::new();
            let mut commands = Vec::with_capacity(wave.len());
            for (place, contract, line) in wave {
                let amount = Money::round(line.amount);
                places.insert(contract.to_string(), (place, amount));
                let vehicle = line
                    .plate
                    .clone()
                    .or_else(|| line.vin.clone())
                    .unwrap_or_default();
                let description = if line.description.trim().is_empty() {
                    "Штраф ГИБДД".to_owned()
                } else {
                    line.description.clone()
                };
                commands.push((
                    contract.to_string(),
                    ContractCommand::RegisterTrafficFine {
                        resolution_number: line.uin,
                        date: line.date,
                        amount,
                        vehicle,
                        description,
                        article: line.article,
                        discount_until: line.discount_until,
                    },
                ));
            }
            let outcomes = self
                .contracts
                .execute_many(commands, meta)
                .await
                .map_err(crate::error::command_error)?;
            for (contract, outcome) in outcomes {
                let (place, amount) = places.get(&contract).copied().unwrap_or_default();
                match outcome {
                    Ok(_) => {
                        t.matched += 1;
                        t.amount_matched += amount.amount();
                    }
                    // Registered meanwhile by another import of the same register.
                    Err(ContractError::DuplicateFine(_)) => t.duplicates += 1,
                    Err(ContractError::OutOfRange { field, reason }) => {
                        t.reject(place, register_field(field), reason.to_owned())
                    }
                    Err(e) => t.reject(place, "Fine", e.to_string()),
                }
            }
        }
        Ok(t)
    }
}
