//! `cabinet serve --demo`: a demo company and two accounts to try the API with. Safe to run on every start:
//! the company is registered with an idempotency key, the accounts are upserted.

use domain::company::{CompanyCommand, CompanyProfile, ManagerDetails};
use domain::values::{
    BankAccount, BankRequisites, Bik, Email, Inn, Kpp, Phone, RegistrationNumber,
};
use projections::event::CommandMeta;
use uuid::Uuid;

use crate::auth::{accounts, Role};
use crate::startup::App;

/// The demo ADMIN login.
pub const ADMIN_EMAIL: &str = "admin@demo.local";
/// The demo CLIENT login.
pub const CLIENT_EMAIL: &str = "client@demo.local";

fn profile() -> anyhow::Result<CompanyProfile> {
    let bank = BankRequisites::new(
        "ПАО Сбербанк",
        Bik::parse("044525225")?,
        BankAccount::parse("30101810400000000225")?,
        BankAccount::parse("40702810938000012345")?,
    )
    .map_err(|(_, e)| e)?;
    Ok(CompanyProfile {
        inn: Inn::parse("7707083893")?,
        kpp: Some(Kpp::parse("773601001")?),
        ogrn: RegistrationNumber::parse("1027700132195")?,
        full_name: "Общество с ограниченной ответственностью «Демо Лизингополучатель»".into(),
        short_name: "ООО «Демо Лизингополучатель»".into(),
        legal_address: "117997, г. Москва, ул. Вавилова, д. 19".into(),
        postal_address: "117997, г. Москва, ул. Вавилова, д. 19".into(),
        bank,
        contact_email: Email::parse(CLIENT_EMAIL)?,
        contact_phone: Phone::parse("+7 495 500-55-50")?,
    })
}

/// Loads the demo data; returns the demo company's id.
///
/// # Errors
/// A failing command or database error.
pub async fn load(app: &App, password: &str) -> anyhow::Result<Uuid> {
    let mut meta = CommandMeta::system("demo");
    meta.idempotency_key = Some("demo-company".into());
    let id = Uuid::now_v7();
    let out = app
        .companies
        .execute(
            &id.to_string(),
            CompanyCommand::RegisterCompany {
                company_id: id,
                profile: Box::new(profile()?),
            },
            &meta,
        )
        .await
        .map_err(|e| anyhow::anyhow!("registering the demo company: {e}"))?;
    let company: Uuid = out.aggregate_id.parse()?;
    let manager = ManagerDetails {
        name: "Иванова Мария Петровна".into(),
        phone: Phone::parse("+7 495 777-00-01")?,
        email: Email::parse("manager@demo.local")?,
    };
    app.companies
        .execute(
            &company.to_string(),
            CompanyCommand::AssignManager(manager),
            &CommandMeta::system("demo"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("assigning the demo manager: {e}"))?;
    let err =
        |e: crate::error::ApiError| anyhow::anyhow!("creating a demo account: {}", e.message());
    accounts::create_account(
        &app.pool,
        &Email::parse(ADMIN_EMAIL)?,
        password,
        &[Role::Admin],
        true,
    )
    .await
    .map_err(err)?;
    let client = accounts::create_account(
        &app.pool,
        &Email::parse(CLIENT_EMAIL)?,
        password,
        &[Role::Client],
        true,
    )
    .await
    .map_err(err)?;
    accounts::link_company(&app.pool, client, company)
        .await
        .map_err(err)?;
    Ok(company)
}
