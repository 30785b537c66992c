//! The kinds of client request and their details. Each kind's details are validated on submission; an
//! error names the attribute within the kind (the API maps it to its input field).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::values::personal::{Contact, Driver as DriverRole, Reporter};
use crate::values::Personal;
use uuid::Uuid;

use super::RequestError;
use crate::company::RequisitesChange;
use crate::contract::BuyoutQuote;
use crate::schedule::RecalculationMode;
use crate::values::{EdoParticipantId, Email, Money};

/// ПТС on paper or the electronic ЭПТС.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleDocument {
    /// Paper ПТС (the original, held by the lessor).
    Paper,
    /// An extract of the electronic ЭПТС.
    Electronic,
}

/// How a document reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Collected at the lessor's office.
    Office,
    /// By courier to an address.
    Courier,
    /// By post to an address.
    Post,
    /// Electronically (ЭДО or e-mail).
    Electronic,
}

/// A driver who will take the vehicle abroad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Driver {
    /// Full name (personal data).
    pub full_name: Personal<String, DriverRole>,
    /// Driving licence number (personal data): 10 characters, digits and letters.
    pub licence_number: Personal<String, DriverRole>,
}

/// A certificate the lessor issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// Справка об отсутствии задолженности.
    NoDebt,
    /// Справка о действии договора лизинга.
    ContractInForce,
    /// Справка о балансовой (остаточной) стоимости предмета лизинга.
    BookValue,
}

/// An accounting document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountingDocument {
    /// Счёт-фактура.
    Invoice,
    /// Акт сверки взаиморасчётов.
    ReconciliationAct,
    /// ОС-1, act of acceptance-transfer of a fixed asset.
    Os1,
    /// Акты оказанных услуг (and УПД, which serve as acts) the accounting system issued.
    Act,
}

/// What the client asks for, with the details of its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestDetails {
    /// Issue of the vehicle passport (ПТС/ЭПТС).
    VehiclePassport {
        /// Paper or electronic.
        document: VehicleDocument,
        /// What it is needed for.
        purpose: String,
        /// How it is delivered.
        delivery: Delivery,
        /// Address, for courier and post.
        address: Option<String>,
    },
    /// Permission to take the vehicle abroad.
    TravelAbroad {
        /// Countries, ISO 3166-1 alpha-2.
        countries: Vec<String>,
        /// First day abroad.
        from: NaiveDate,
        /// Last day abroad.
        to: NaiveDate,
        /// Who drives.
        drivers: Vec<Driver>,
    },
    /// Early buyout (досрочный выкуп) on a date.
    EarlyBuyout {
        /// The date the client wants to buy out on.
        desired_date: NaiveDate,
        /// The quote for that date, computed at submission.
        quote: Option<BuyoutQuote>,
    },
    /// Partial early repayment.
    PartialRepayment {
        /// Principal to repay.
        amount: Money,
        /// Date of the repayment.
        date: NaiveDate,
        /// Shorter term or smaller payments.
        mode: RecalculationMode,
    },
    /// Change of the company's requisites.
    RequisitesChange {
        /// The new requisites (only the fields given change).
        change: RequisitesChange,
    },
    /// A certificate as of a date.
    Certificate {
        /// Which.
        certificate: CertificateKind,
        /// As of.
        as_of: NaiveDate,
    },
    /// Accounting documents for a period, sent to an e-mail.
    AccountingDocuments {
        /// Which documents.
        documents: Vec<AccountingDocument>,
        /// First day of the period.
        from: NaiveDate,
        /// Last day of the period.
        to: NaiveDate,
        /// Where to send them (personal: the contact's).
        email: Personal<Email, Contact>,
    },
    /// Prolongation of a policy.
    InsuranceProlongation {
        /// The policy.
        policy_id: Uuid,
        /// Wishes (insurer, sum, options).
        wishes: Option<String>,
    },
    /// Change of a policy's terms.
    InsuranceTermsChange {
        /// The policy.
        policy_id: Uuid,
        /// What should change.
        description: String,
    },
    /// Insure the contract's vehicle (ОСАГО or КАСКО) through the lessor: ends with a policy.
    VehicleInsurance {
        /// ОСАГО or КАСКО.
        cover: crate::policy::PolicyKind,
        /// The first day of cover wanted.
        starts_on: NaiveDate,
        /// Wishes (insurer, options, drivers).
        wishes: Option<String>,
    },
    /// An insured event, reported on the policy; the request tracks its handling.
    InsuredEvent {
        /// The policy.
        policy_id: Uuid,
        /// The event's id on the policy.
        event_id: Uuid,
        /// When it happened.
        date: NaiveDate,
        /// Where (personal: the reporter's).
        place: Personal<String, Reporter>,
        /// What happened (personal: the reporter's).
        description: Personal<String, Reporter>,
    },
    /// A complaint.
    Complaint {
        /// Subject.
        subject: String,
        /// Text.
        text: String,
    },
    /// Technical support.
    TechnicalSupport {
        /// Subject.
        subject: String,
        /// Text.
        text: String,
    },
    /// A consultation.
    Consultation {
        /// Subject.
        subject: String,
        /// Text.
        text: String,
    },
    /// Connection to electronic document exchange (ЭДО).
    EdoConnection {
        /// The client's participant id, when it already has one.
        participant_id: Option<EdoParticipantId>,
        /// Through the client's own operator (roaming) rather than the lessor's.
        roaming: bool,
    },
    /// Change of the login e-mail.
    LoginEmailChange {
        /// The new e-mail (personal: the requesting contact's).
        new_email: Personal<Email, Contact>,
    },
    /// Deletion of the cabinet account.
    AccountDeletion {
        /// Why, if the client says.
        reason: Option<String>,
    },
}

/// The kind of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// ПТС/ЭПТС.
    VehiclePassport,
    /// Travel abroad.
    TravelAbroad,
    /// Early buyout.
    EarlyBuyout,
    /// Partial early repayment.
    PartialRepayment,
    /// Change of requisites.
    RequisitesChange,
    /// Certificate.
    Certificate,
    /// Accounting documents.
    AccountingDocuments,
    /// Insurance prolongation.
    InsuranceProlongation,
    /// Change of insurance terms.
    InsuranceTermsChange,
    /// Insuring a vehicle (ОСАГО/КАСКО).
    VehicleInsurance,
    /// Insured event.
    InsuredEvent,
    /// Complaint.
    Complaint,
    /// Technical support.
    TechnicalSupport,
    /// Consultation.
    Consultation,
    /// ЭДО connection.
    EdoConnection,
    /// Change of login e-mail.
    LoginEmailChange,
    /// Account deletion.
    AccountDeletion,
}

impl RequestKind {
    /// Every kind.
    pub const ALL: [RequestKind; 17] = [
        Self::VehiclePassport,
        Self::TravelAbroad,
        Self::EarlyBuyout,
        Self::PartialRepayment,
        Self::RequisitesChange,
        Self::Certificate,
        Self::AccountingDocuments,
        Self::InsuranceProlongation,
        Self::InsuranceTermsChange,
        Self::VehicleInsurance,
        Self::InsuredEvent,
        Self::Complaint,
        Self::TechnicalSupport,
        Self::Consultation,
        Self::EdoConnection,
        Self::LoginEmailChange,
        Self::AccountDeletion,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VehiclePassport => "vehicle_passport",
            Self::TravelAbroad => "travel_abroad",
            Self::EarlyBuyout => "early_buyout",
            Self::PartialRepayment => "partial_repayment",
            Self::RequisitesChange => "requisites_change",
            Self::Certificate => "certificate",
            Self::AccountingDocuments => "accounting_documents",
            Self::InsuranceProlongation => "insurance_prolongation",
            Self::InsuranceTermsChange => "insurance_terms_change",
            Self::VehicleInsurance => "vehicle_insurance",
            Self::InsuredEvent => "insured_event",
            Self::Complaint => "complaint",
            Self::TechnicalSupport => "technical_support",
            Self::Consultation => "consultation",
            Self::EdoConnection => "edo_connection",
            Self::LoginEmailChange => "login_email_change",
            Self::AccountDeletion => "account_deletion",
        }
    }

    /// The kind by its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the request is about one contract (and must name it). Every certificate is about a contract
    /// (the lessor certifies a contract's state), so a certificate request without one is refused at
    /// submission, not when staff complete it.
    pub fn needs_contract(self) -> bool {
        matches!(
            self,
            Self::VehiclePassport
                | Self::TravelAbroad
                | Self::EarlyBuyout
                | Self::PartialRepayment
                | Self::Certificate
                | Self::AccountingDocuments
                | Self::InsuranceProlongation
                | Self::InsuranceTermsChange
                | Self::VehicleInsurance
                | Self::InsuredEvent
        )
    }

    /// Whether completing it changes another aggregate (through the request-effects process manager).
    pub fn has_effect(self) -> bool {
        matches!(
            self,
            Self::EarlyBuyout
                | Self::PartialRepayment
                | Self::RequisitesChange
                | Self::InsuranceProlongation
                | Self::InsuranceTermsChange
                | Self::VehicleInsurance
                | Self::EdoConnection
                | Self::LoginEmailChange
                | Self::AccountDeletion
                | Self::Certificate
                | Self::AccountingDocuments
        )
    }
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, RequestError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(RequestError::detail(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(t.to_owned())
}

fn optional_text(
    field: &'static str,
    v: Option<String>,
    max: usize,
) -> Result<Option<String>, RequestError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(field, t, max).map(Some),
    }
}

impl RequestDetails {
    /// The kind.
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::VehiclePassport { .. } => RequestKind::VehiclePassport,
            Self::TravelAbroad { .. } => RequestKind::TravelAbroad,
            Self::EarlyBuyout { .. } => RequestKind::EarlyBuyout,
            Self::PartialRepayment { .. } => RequestKind::PartialRepayment,
            Self::RequisitesChange { .. } => RequestKind::RequisitesChange,
            Self::Certificate { .. } => RequestKind::Certificate,
            Self::AccountingDocuments { .. } => RequestKind::AccountingDocuments,
            Self::InsuranceProlongation { .. } => RequestKind::InsuranceProlongation,
            Self::InsuranceTermsChange { .. } => RequestKind::InsuranceTermsChange,
            Self::VehicleInsurance { .. } => RequestKind::VehicleInsurance,
            Self::InsuredEvent { .. } => RequestKind::InsuredEvent,
            Self::Complaint { .. } => RequestKind::Complaint,
            Self::TechnicalSupport { .. } => RequestKind::TechnicalSupport,
            Self::Consultation { .. } => RequestKind::Consultation,
            Self::EdoConnection { .. } => RequestKind::EdoConnection,
            Self::LoginEmailChange { .. } => RequestKind::LoginEmailChange,
            Self::AccountDeletion { .. } => RequestKind::AccountDeletion,
        }
    }

    /// The policy an insurance request is about.
    pub fn policy_id(&self) -> Option<Uuid> {
        match self {
            Self::InsuranceProlongation { policy_id, .. }
            | Self::InsuranceTermsChange { policy_id, .. }
            | Self::InsuredEvent { policy_id, .. } => Some(*policy_id),
            _ => None,
        }
    }

    /// Checks the details against the rules of their kind (texts, dates against the submission day, lists)
    /// and returns them normalised (texts trimmed, country codes upper-case).
    ///
    /// # Errors
    /// [`RequestError::Detail`] naming the field within the kind.
    pub fn validate(self, submitted_on: NaiveDate) -> Result<Self, RequestError> {
        let not_before_today = |field: &'static str, d: NaiveDate| {
            if d < submitted_on {
                Err(RequestError::detail(
                    field,
                    "must not be before the day of the request",
                ))
            } else {
                Ok(())
            }
        };
        let not_after_today = |field: &'static str, d: NaiveDate| {
            if d > submitted_on {
                Err(RequestError::detail(
                    field,
                    "must not be after the day of the request",
                ))
            } else {
                Ok(())
            }
        };
        Ok(match self {
            Self::VehiclePassport {
                document,
                purpose,
                delivery,
                address,
            } => {
                let address = optional_text("address", address, 500)?;
                if matches!(delivery, Delivery::Courier | Delivery::Post) && address.is_none() {
                    return Err(RequestError::detail(
                        "address",
                        "is required for delivery by courier or post",
                    ));
                }
                Self::VehiclePassport {
                    document,
                    purpose: text("purpose", &purpose, 1000)?,
                    delivery,
                    address,
                }
            }
            Self::TravelAbroad {
                countries,
                from,
                to,
                drivers,
            } => {
                if countries.is_empty() || countries.len() > 60 {
                    return Err(RequestError::detail("countries", "name 1 to 60 countries"));
                }
                let mut codes = Vec::new();
                for c in countries {
                    let code = c.trim().to_ascii_uppercase();
                    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                        return Err(RequestError::detail(
                            "countries",
                            format!("«{c}» is not an ISO 3166-1 alpha-2 country code"),
                        ));
                    }
                    if code == "RU" {
                        return Err(RequestError::detail("countries", "RU is not abroad"));
                    }
                    if !codes.contains(&code) {
                        codes.push(code);
                    }
                }
                not_before_today("from", from)?;
                if to < from {
                    return Err(RequestError::detail("to", "must not be before from"));
                }
                if drivers.is_empty() || drivers.len() > 20 {
                    return Err(RequestError::detail("drivers", "name 1 to 20 drivers"));
                }
                let mut list = Vec::new();
                for d in drivers {
                    let licence: String = d
                        .licence_number
                        .get()
                        .map_or("", String::as_str)
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect::<String>()
                        .to_uppercase();
                    if licence.chars().count() != 10 || !licence.chars().all(char::is_alphanumeric)
                    {
                        return Err(RequestError::detail(
                            "drivers.licenceNumber",
                            "must be 10 digits and letters",
                        ));
                    }
                    list.push(Driver {
                        full_name: Personal::new(text(
                            "drivers.fullName",
                            d.full_name.get().map_or("", String::as_str),
                            300,
                        )?),
                        licence_number: Personal::new(licence),
                    });
                }
                Self::TravelAbroad {
                    countries: codes,
                    from,
                    to,
                    drivers: list,
                }
            }
            Self::EarlyBuyout {
                desired_date,
                quote,
            } => {
                not_before_today("desiredDate", desired_date)?;
                Self::EarlyBuyout {
                    desired_date,
                    quote,
                }
            }
            Self::PartialRepayment { amount, date, mode } => {
                if amount <= Money::ZERO {
                    return Err(RequestError::detail("amount", "must be greater than zero"));
                }
                not_before_today("date", date)?;
                Self::PartialRepayment { amount, date, mode }
            }
            Self::RequisitesChange { change } => {
                if change == RequisitesChange::default() {
                    return Err(RequestError::detail(
                        "change",
                        "name at least one requisite",
                    ));
                }
                let trim = |field, v: Option<String>| optional_text(field, v, 1000);
                Self::RequisitesChange {
                    change: RequisitesChange {
                        full_name: trim("fullName", change.full_name)?,
                        short_name: trim("shortName", change.short_name)?,
                        legal_address: trim("legalAddress", change.legal_address)?,
                        postal_address: trim("postalAddress", change.postal_address)?,
                        ..change
                    },
                }
            }
            Self::Certificate { certificate, as_of } => {
                not_after_today("asOf", as_of)?;
                Self::Certificate { certificate, as_of }
            }
            Self::AccountingDocuments {
                mut documents,
                from,
                to,
                email,
            } => {
                if documents.is_empty() {
                    return Err(RequestError::detail(
                        "documents",
                        "name at least one document",
                    ));
                }
                documents.dedup();
                if to < from {
                    return Err(RequestError::detail("to", "must not be before from"));
                }
                not_after_today("from", from)?;
                Self::AccountingDocuments {
                    documents,
                    from,
                    to,
                    email,
                }
            }
            Self::InsuranceProlongation { policy_id, wishes } => Self::InsuranceProlongation {
                policy_id,
                wishes: optional_text("wishes", wishes, 2000)?,
            },
            Self::InsuranceTermsChange {
                policy_id,
                description,
            } => Self::InsuranceTermsChange {
                policy_id,
                description: text("description", &description, 2000)?,
            },
            Self::VehicleInsurance {
                cover,
                starts_on,
                wishes,
            } => {
                use crate::policy::PolicyKind;
                if !matches!(cover, PolicyKind::Osago | PolicyKind::Kasko) {
                    return Err(RequestError::detail(
                        "cover",
                        "a vehicle is insured under ОСАГО or КАСКО",
                    ));
                }
                not_before_today("startsOn", starts_on)?;
                Self::VehicleInsurance {
                    cover,
                    starts_on,
                    wishes: optional_text("wishes", wishes, 2000)?,
                }
            }
            Self::InsuredEvent {
                policy_id,
                event_id,
                date,
                place,
                description,
            } => {
                not_after_today("date", date)?;
                Self::InsuredEvent {
                    policy_id,
                    event_id,
                    date,
                    place: Personal::new(text("place", place.get().map_or("", |v| v), 500)?),
                    description: Personal::new(text(
                        "description",
                        description.get().map_or("", |v| v),
                        5000,
                    )?),
                }
            }
            Self::Complaint { subject, text: t } => Self::Complaint {
                subject: text("subject", &subject, 200)?,
                text: text("text", &t, 5000)?,
            },
            Self::TechnicalSupport { subject, text: t } => Self::TechnicalSupport {
                subject: text("subject", &subject, 200)?,
                text: text("text", &t, 5000)?,
            },
            Self::Consultation { subject, text: t } => Self::Consultation {
                subject: text("subject", &subject, 200)?,
                text: text("text", &t, 5000)?,
            },
            Self::EdoConnection {
                participant_id,
                roaming,
            } => {
                if roaming && participant_id.is_none() {
                    return Err(RequestError::detail(
                        "participantId",
                        "is required for roaming through your own operator",
                    ));
                }
                Self::EdoConnection {
                    participant_id,
                    roaming,
                }
            }
            Self::LoginEmailChange { new_email } => Self::LoginEmailChange { new_email },
            Self::AccountDeletion { reason } => Self::AccountDeletion {
                reason: optional_text("reason", reason, 1000)?,
            },
        })
    }
}
