//! State and rules of a company.

use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    CompanyCommand, CompanyError, CompanyEvent, CompanyKind, CompanyProfile, CompanyServices,
    ManagerDetails, RequisitesChange,
};
use crate::values::personal::{Contact, Manager};
use crate::values::{BankRequisites, Email, Inn, Kpp, Personal, Phone, RegistrationNumber};

/// The registered company's current state (what the rules need, and what a snapshot holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    company_id: Uuid,
    kind: CompanyKind,
    inn: Inn,
    kpp: Option<Kpp>,
    ogrn: RegistrationNumber,
    full_name: String,
    short_name: String,
    legal_address: String,
    postal_address: String,
    bank: BankRequisites,
    contact_email: Personal<Email, Contact>,
    contact_phone: Personal<Phone, Contact>,
    #[allow(clippy::type_complexity)]
    manager: Option<(
        Personal<String, Manager>,
        Personal<Phone, Manager>,
        Personal<Email, Manager>,
    )>,
    /// Powers of attorney ever registered: number and whether revoked.
    #[serde(default)]
    powers: Vec<(Uuid, bool)>,
    /// The manager's staff account.
    #[serde(default)]
    manager_account: Option<Uuid>,
}

/// A lessee company. `Default` is "not yet registered".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Company {
    state: Option<Registered>,
}

impl Company {
    /// Whether the company has been registered.
    pub fn is_registered(&self) -> bool {
        self.state.is_some()
    }

    /// The company's ИНН, once registered.
    pub fn inn(&self) -> Option<&Inn> {
        self.state.as_ref().map(|s| &s.inn)
    }

    /// The company's short name, once registered.
    pub fn short_name(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.short_name.as_str())
    }
}

fn non_empty(field: &'static str, value: &str) -> Result<String, CompanyError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CompanyError::Empty { field });
    }
    Ok(v.to_owned())
}

fn check_kind(
    kind: CompanyKind,
    kpp: Option<&Kpp>,
    ogrn: Option<&RegistrationNumber>,
) -> Result<(), CompanyError> {
    match (kind, kpp) {
        (CompanyKind::LegalEntity, None) => return Err(CompanyError::KppRequired),
        (CompanyKind::SoleProprietor, Some(_)) => return Err(CompanyError::KppNotAllowed),
        _ => {}
    }
    if let Some(ogrn) = ogrn {
        if ogrn.is_ogrnip() != (kind == CompanyKind::SoleProprietor) {
            return Err(CompanyError::OgrnDoesNotMatchKind);
        }
    }
    Ok(())
}

async fn check_unique(
    services: &CompanyServices,
    this: Uuid,
    inn: &Inn,
    kpp: Option<&Kpp>,
) -> Result<(), CompanyError> {
    match services
        .lookup
        .find_by_inn_kpp(inn, kpp)
        .await
        .map_err(CompanyError::LookupFailed)?
    {
        Some(existing) if existing != this => Err(CompanyError::DuplicateInnKpp { existing }),
        _ => Ok(()),
    }
}

impl Company {
    async fn register(
        &self,
        company_id: Uuid,
        p: CompanyProfile,
        services: &CompanyServices,
    ) -> Result<CompanyEvent, CompanyError> {
        if self.state.is_some() {
            return Err(CompanyError::AlreadyRegistered);
        }
        let kind = if p.inn.is_organisation() {
            CompanyKind::LegalEntity
        } else {
            CompanyKind::SoleProprietor
        };
        check_kind(kind, p.kpp.as_ref(), Some(&p.ogrn))?;
        let event = CompanyEvent::CompanyRegistered {
            company_id,
            kind,
            full_name: non_empty("fullName", &p.full_name)?,
            short_name: non_empty("shortName", &p.short_name)?,
            legal_address: non_empty("legalAddress", &p.legal_address)?,
            postal_address: non_empty("postalAddress", &p.postal_address)?,
            inn: p.inn,
            kpp: p.kpp,
            ogrn: p.ogrn,
            bank: p.bank,
            contact_email: Personal::new(p.contact_email),
            contact_phone: Personal::new(p.contact_phone),
        };
        if let CompanyEvent::CompanyRegistered { inn, kpp, .. } = &event {
            check_unique(services, company_id, inn, kpp.as_ref()).await?;
        }
        Ok(event)
    }

    async fn change_requisites(
        &self,
        c: RequisitesChange,
        services: &CompanyServices,
    ) -> Result<Option<CompanyEvent>, CompanyError> {
        let s = self.state.as_ref().ok_or(CompanyError::NotRegistered)?;
        let text = |field, new: Option<String>, old: &String| match new {
            Some(v) => non_empty(field, &v),
            None => Ok(old.clone()),
        };
        let kpp = match c.kpp {
            Some(k) => Some(k),
            None => s.kpp.clone(),
        };
        check_kind(s.kind, kpp.as_ref(), None)?;
        let full_name = text("fullName", c.full_name, &s.full_name)?;
        let short_name = text("shortName", c.short_name, &s.short_name)?;
        let legal_address = text("legalAddress", c.legal_address, &s.legal_address)?;
        let postal_address = text("postalAddress", c.postal_address, &s.postal_address)?;
        let bank = c.bank.unwrap_or_else(|| s.bank.clone());
        let contact_email = c
            .contact_email
            .map(Personal::new)
            .unwrap_or_else(|| s.contact_email.clone());
        let contact_phone = c
            .contact_phone
            .map(Personal::new)
            .unwrap_or_else(|| s.contact_phone.clone());
        let unchanged = kpp == s.kpp
            && full_name == s.full_name
            && short_name == s.short_name
            && legal_address == s.legal_address
            && postal_address == s.postal_address
            && bank == s.bank
            && contact_email == s.contact_email
            && contact_phone == s.contact_phone;
        if unchanged {
            // Nothing to record: the command is a no-op, not an error, so a retried change is harmless.
            return Ok(None);
        }
        if kpp != s.kpp {
            check_unique(services, s.company_id, &s.inn, kpp.as_ref()).await?;
        }
        Ok(Some(CompanyEvent::CompanyRequisitesChanged {
            kpp,
            full_name,
            short_name,
            legal_address,
            postal_address,
            bank,
            contact_email,
            contact_phone,
        }))
    }

    fn assign_manager(&self, m: ManagerDetails) -> Result<Option<CompanyEvent>, CompanyError> {
        let s = self.state.as_ref().ok_or(CompanyError::NotRegistered)?;
        let name = non_empty("name", &m.name)?;
        let (name, phone, email) = (
            Personal::new(name),
            Personal::new(m.phone),
            Personal::new(m.email),
        );
        if s.manager.as_ref() == Some(&(name.clone(), phone.clone(), email.clone()))
            && s.manager_account == m.account_id
        {
            return Ok(None);
        }
        Ok(Some(CompanyEvent::ManagerAssigned {
            name,
            phone,
            email,
            account_id: m.account_id,
        }))
    }

    fn register_power(
        &self,
        p: super::PowerOfAttorney,
    ) -> Result<Option<CompanyEvent>, CompanyError> {
        let s = self.state.as_ref().ok_or(CompanyError::NotRegistered)?;
        let invalid = |field, message| CompanyError::InvalidPowerOfAttorney { field, message };
        if p.number.is_nil() {
            return Err(invalid(
                "number",
                "must be the МЧД's number in the register",
            ));
        }
        if p.valid_until < p.valid_from {
            return Err(invalid("validUntil", "must not be before validFrom"));
        }
        if p.document_kinds.is_empty() && !p.requests {
            return Err(invalid(
                "documentKinds",
                "a power of attorney must extend to some documents or to requests",
            ));
        }
        if s.powers.iter().any(|(n, _)| *n == p.number) {
            return Err(CompanyError::PowerOfAttorneyExists(p.number));
        }
        let mut p = p;
        p.document_kinds.sort_by_key(|k| k.as_str());
        p.document_kinds.dedup();
        Ok(Some(CompanyEvent::PowerOfAttorneyRegistered { power: p }))
    }

    fn revoke_power(
        &self,
        number: Uuid,
        reason: String,
    ) -> Result<Option<CompanyEvent>, CompanyError> {
        let s = self.state.as_ref().ok_or(CompanyError::NotRegistered)?;
        let reason = non_empty("reason", &reason)?;
        match s.powers.iter().find(|(n, _)| *n == number) {
            None => Err(CompanyError::UnknownPowerOfAttorney(number)),
            // Revoking again changes nothing: a retried revocation is harmless.
            Some((_, true)) => Ok(None),
            Some((_, false)) => Ok(Some(CompanyEvent::PowerOfAttorneyRevoked {
                number,
                reason,
            })),
        }
    }
}

impl Aggregate for Company {
    // Never renamed: it links every stored event of a company.
    const TYPE: &'static str = "Company";
    type Command = CompanyCommand;
    type Event = CompanyEvent;
    type Error = CompanyError;
    type Services = CompanyServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            CompanyCommand::RegisterCompany {
                company_id,
                profile,
            } => Some(self.register(company_id, *profile, services).await?),
            CompanyCommand::ChangeCompanyRequisites(c) => {
                self.change_requisites(*c, services).await?
            }
            CompanyCommand::AssignManager(m) => self.assign_manager(m)?,
            CompanyCommand::RegisterPowerOfAttorney(p) => self.register_power(*p)?,
            CompanyCommand::RevokePowerOfAttorney { number, reason } => {
                self.revoke_power(number, reason)?
            }
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CompanyEvent::CompanyRegistered {
                company_id,
                kind,
                inn,
                kpp,
                ogrn,
                full_name,
                short_name,
                legal_address,
                postal_address,
                bank,
                contact_email,
                contact_phone,
            } => {
                self.state = Some(Registered {
                    company_id,
                    kind,
                    inn,
                    kpp,
                    ogrn,
                    full_name,
                    short_name,
                    legal_address,
                    postal_address,
                    bank,
                    contact_email,
                    contact_phone,
                    manager: None,
                    powers: Vec::new(),
                    manager_account: None,
                })
            }
            CompanyEvent::CompanyRequisitesChanged {
                kpp,
                full_name,
                short_name,
                legal_address,
                postal_address,
                bank,
                contact_email,
                contact_phone,
            } => {
                if let Some(s) = self.state.as_mut() {
                    s.kpp = kpp;
                    s.full_name = full_name;
                    s.short_name = short_name;
                    s.legal_address = legal_address;
                    s.postal_address = postal_address;
                    s.bank = bank;
                    s.contact_email = contact_email;
                    s.contact_phone = contact_phone;
                }
            }
            CompanyEvent::ManagerAssigned {
                name,
                phone,
                email,
                account_id,
            } => {
                if let Some(s) = self.state.as_mut() {
                    s.manager = Some((name, phone, email));
                    s.manager_account = account_id;
                }
            }
            CompanyEvent::PowerOfAttorneyRegistered { power } => {
                if let Some(s) = self.state.as_mut() {
                    s.powers.push((power.number, false));
                }
            }
            CompanyEvent::PowerOfAttorneyRevoked { number, .. } => {
                if let Some(s) = self.state.as_mut() {
                    if let Some(p) = s.powers.iter_mut().find(|(n, _)| *n == number) {
                        p.1 = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::company::CompanyLookup;
    use crate::values::Ogrnip;

    /// A look-up that knows a fixed set of (ИНН, КПП) → company.
    #[derive(Default)]
    struct KnownCompanies(Mutex<Vec<(String, Option<String>, Uuid)>>);

    #[async_trait]
    impl CompanyLookup for KnownCompanies {
        async fn find_by_inn_kpp(
            &self,
            inn: &Inn,
            kpp: Option<&Kpp>,
        ) -> Result<Option<Uuid>, crate::failure::LookupFailed> {
            let known = self.0.lock().map_err(|e| crate::failure::LookupFailed {
                what: "company by ИНН and КПП",
                cause: e.to_string(),
            })?;
            Ok(known
                .iter()
                .find(|(i, k, _)| i == inn.as_str() && k.as_deref() == kpp.map(Kpp::as_str))
                .map(|(_, _, id)| *id))
        }
    }

    fn services(known: Vec<(&str, Option<&str>, Uuid)>) -> CompanyServices {
        let k = KnownCompanies(Mutex::new(
            known
                .into_iter()
                .map(|(i, k, id)| (i.to_owned(), k.map(str::to_owned), id))
                .collect(),
        ));
        CompanyServices::new(Arc::new(k))
    }

    fn id() -> Uuid {
        Uuid::from_u128(1)
    }

    fn profile() -> CompanyProfile {
        crate::testing::sample_profile("773601001")
    }

    fn registered(p: &CompanyProfile) -> CompanyEvent {
        CompanyEvent::CompanyRegistered {
            company_id: id(),
            kind: CompanyKind::LegalEntity,
            inn: p.inn.clone(),
            kpp: p.kpp.clone(),
            ogrn: p.ogrn.clone(),
            full_name: p.full_name.clone(),
            short_name: p.short_name.clone(),
            legal_address: p.legal_address.clone(),
            postal_address: p.postal_address.clone(),
            bank: p.bank.clone(),
            contact_email: Personal::new(p.contact_email.clone()),
            contact_phone: Personal::new(p.contact_phone.clone()),
        }
    }

    fn register(p: CompanyProfile) -> CompanyCommand {
        CompanyCommand::RegisterCompany {
            company_id: id(),
            profile: Box::new(p),
        }
    }

    #[tokio::test]
    async fn registering_a_legal_entity_records_it_with_its_kind() {
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(register(profile()))
            .await
            .then_expect_events(vec![registered(&profile())]);
    }

    #[tokio::test]
    async fn registering_a_sole_proprietor_needs_no_kpp_and_an_ogrnip() {
        let mut p = profile();
        p.inn = Inn::parse("500100732259").unwrap();
        p.kpp = None;
        p.ogrn = RegistrationNumber::Ogrnip(Ogrnip::parse("304500116000157").unwrap());
        let events = TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(register(p))
            .await
            .inspect_result()
            .unwrap();
        assert!(matches!(
            events.as_slice(),
            [CompanyEvent::CompanyRegistered {
                kind: CompanyKind::SoleProprietor,
                kpp: None,
                ..
            }]
        ));
    }

    #[tokio::test]
    async fn a_legal_entity_without_kpp_is_rejected() {
        let mut p = profile();
        p.kpp = None;
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(register(p))
            .await
            .then_expect_error(CompanyError::KppRequired);
    }

    #[tokio::test]
    async fn a_sole_proprietor_with_a_kpp_is_rejected() {
        let mut p = profile();
        p.inn = Inn::parse("500100732259").unwrap();
        p.ogrn = RegistrationNumber::parse("304500116000157").unwrap();
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(register(p))
            .await
            .then_expect_error(CompanyError::KppNotAllowed);
    }

    #[tokio::test]
    async fn a_legal_entity_with_an_ogrnip_is_rejected() {
        let mut p = profile();
        p.ogrn = RegistrationNumber::parse("304500116000157").unwrap();
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(register(p))
            .await
            .then_expect_error(CompanyError::OgrnDoesNotMatchKind);
    }

    #[tokio::test]
    async fn a_second_company_with_the_same_inn_and_kpp_is_rejected() {
        let other = Uuid::from_u128(99);
        TestFramework::<Company>::with(services(vec![("7707083893", Some("773601001"), other)]))
            .given_no_previous_events()
            .when_async(register(profile()))
            .await
            .then_expect_error(CompanyError::DuplicateInnKpp { existing: other });
    }

    #[tokio::test]
    async fn the_same_inn_with_another_kpp_is_a_different_company() {
        TestFramework::<Company>::with(services(vec![(
            "7707083893",
            Some("773601002"),
            Uuid::from_u128(99),
        )]))
        .given_no_previous_events()
        .when_async(register(profile()))
        .await
        .then_expect_events(vec![registered(&profile())]);
    }

    #[tokio::test]
    async fn registering_twice_is_rejected() {
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile())])
            .when_async(register(profile()))
            .await
            .then_expect_error(CompanyError::AlreadyRegistered);
    }

    #[tokio::test]
    async fn an_empty_name_is_rejected_naming_the_field() {
        let mut p = profile();
        p.short_name = "  ".into();
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(register(p))
            .await
            .then_expect_error(CompanyError::Empty { field: "shortName" });
    }

    #[tokio::test]
    async fn changing_requisites_records_the_full_new_set() {
        let p = profile();
        let change = RequisitesChange {
            kpp: Some(Kpp::parse("773602001").unwrap()),
            postal_address: Some("119021, Москва, ул. Тимура Фрунзе, 11".into()),
            ..Default::default()
        };
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&p)])
            .when_async(CompanyCommand::ChangeCompanyRequisites(Box::new(change)))
            .await
            .then_expect_events(vec![CompanyEvent::CompanyRequisitesChanged {
                kpp: Some(Kpp::parse("773602001").unwrap()),
                full_name: p.full_name.clone(),
                short_name: p.short_name.clone(),
                legal_address: p.legal_address.clone(),
                postal_address: "119021, Москва, ул. Тимура Фрунзе, 11".into(),
                bank: p.bank.clone(),
                contact_email: Personal::new(p.contact_email.clone()),
                contact_phone: Personal::new(p.contact_phone.clone()),
            }]);
    }

    #[tokio::test]
    async fn a_change_to_the_current_values_records_nothing() {
        let p = profile();
        let change = RequisitesChange {
            short_name: Some(p.short_name.clone()),
            ..Default::default()
        };
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&p)])
            .when_async(CompanyCommand::ChangeCompanyRequisites(Box::new(change)))
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn moving_to_a_kpp_another_company_has_is_rejected() {
        let other = Uuid::from_u128(7);
        let change = RequisitesChange {
            kpp: Some(Kpp::parse("773602001").unwrap()),
            ..Default::default()
        };
        TestFramework::<Company>::with(services(vec![("7707083893", Some("773602001"), other)]))
            .given(vec![registered(&profile())])
            .when_async(CompanyCommand::ChangeCompanyRequisites(Box::new(change)))
            .await
            .then_expect_error(CompanyError::DuplicateInnKpp { existing: other });
    }

    #[tokio::test]
    async fn changing_an_unregistered_company_is_rejected() {
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(CompanyCommand::ChangeCompanyRequisites(Box::default()))
            .await
            .then_expect_error(CompanyError::NotRegistered);
    }

    #[tokio::test]
    async fn assigning_a_manager_records_it_once() {
        let m = ManagerDetails {
            account_id: Some(Uuid::from_u128(0x77)),
            name: "Петров Пётр".into(),
            phone: Phone::parse("+7 495 111-22-33").unwrap(),
            email: Email::parse("petrov@lessor.ru").unwrap(),
        };
        let assigned = CompanyEvent::ManagerAssigned {
            name: Personal::new(m.name.clone()),
            phone: Personal::new(m.phone.clone()),
            email: Personal::new(m.email.clone()),
            account_id: m.account_id,
        };
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile())])
            .when_async(CompanyCommand::AssignManager(m.clone()))
            .await
            .then_expect_events(vec![assigned.clone()]);
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile()), assigned])
            .when_async(CompanyCommand::AssignManager(m))
            .await
            .then_expect_events(vec![]);
    }

    fn power() -> crate::company::PowerOfAttorney {
        crate::company::PowerOfAttorney {
            number: Uuid::from_u128(0xA1),
            representative: Uuid::from_u128(0xB2),
            document_kinds: vec![
                crate::document::DocumentKind::Upd,
                crate::document::DocumentKind::Act,
                crate::document::DocumentKind::Upd,
            ],
            requests: false,
            valid_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_power_of_attorney_is_registered_once_and_revoked_once() {
        let mut recorded = power();
        recorded.document_kinds = vec![
            crate::document::DocumentKind::Act,
            crate::document::DocumentKind::Upd,
        ];
        let registered_power = CompanyEvent::PowerOfAttorneyRegistered {
            power: recorded.clone(),
        };
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile())])
            .when_async(CompanyCommand::RegisterPowerOfAttorney(Box::new(power())))
            .await
            .then_expect_events(vec![registered_power.clone()]);
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile()), registered_power.clone()])
            .when_async(CompanyCommand::RegisterPowerOfAttorney(Box::new(power())))
            .await
            .then_expect_error(CompanyError::PowerOfAttorneyExists(recorded.number));
        let revoked = CompanyEvent::PowerOfAttorneyRevoked {
            number: recorded.number,
            reason: "уволен".into(),
        };
        let revoke = || CompanyCommand::RevokePowerOfAttorney {
            number: recorded.number,
            reason: " уволен ".into(),
        };
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile()), registered_power.clone()])
            .when_async(revoke())
            .await
            .then_expect_events(vec![revoked.clone()]);
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![
                registered(&profile()),
                registered_power.clone(),
                revoked,
            ])
            .when_async(revoke())
            .await
            .then_expect_events(vec![]);
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile())])
            .when_async(revoke())
            .await
            .then_expect_error(CompanyError::UnknownPowerOfAttorney(recorded.number));
    }

    #[tokio::test]
    async fn a_power_of_attorney_that_grants_nothing_or_ends_before_it_starts_is_refused() {
        let mut empty = power();
        empty.document_kinds.clear();
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile())])
            .when_async(CompanyCommand::RegisterPowerOfAttorney(Box::new(empty)))
            .await
            .then_expect_error(CompanyError::InvalidPowerOfAttorney {
                field: "documentKinds",
                message: "a power of attorney must extend to some documents or to requests",
            });
        let mut backwards = power();
        backwards.valid_until = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        TestFramework::<Company>::with(services(vec![]))
            .given(vec![registered(&profile())])
            .when_async(CompanyCommand::RegisterPowerOfAttorney(Box::new(backwards)))
            .await
            .then_expect_error(CompanyError::InvalidPowerOfAttorney {
                field: "validUntil",
                message: "must not be before validFrom",
            });
        TestFramework::<Company>::with(services(vec![]))
            .given_no_previous_events()
            .when_async(CompanyCommand::RegisterPowerOfAttorney(Box::new(power())))
            .await
            .then_expect_error(CompanyError::NotRegistered);
    }

    #[test]
    fn every_event_names_its_type_and_version() {
        let e = registered(&profile());
        assert_eq!(cqrs_es::DomainEvent::event_type(&e), "CompanyRegistered");
        assert_eq!(cqrs_es::DomainEvent::event_version(&e), "2");
    }
}
