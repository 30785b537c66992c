//! `cabinet serve --demo`: a demo company, three accounts (its manager among them), and a 36-month annuity
//! contract with payments, an overdue line with penalties, and an unpaid traffic fine, so the debt screen has
//! something real to show.
//! Safe to run on every start: every command carries an idempotency key, the accounts are upserted.

use chrono::{Days, NaiveDate};
use domain::clock::{ClockCommand, CLOCK_ID};
use domain::company::{CompanyCommand, CompanyProfile, ManagerDetails};
use domain::contract::{Advance, ContractCommand, ContractTerms, LeasingSubject, PaymentPurpose};
use domain::penalty::PenaltyTerms;
use domain::schedule::ScheduleKind;
use domain::values::{
    BankAccount, BankRequisites, Bik, Email, Inn, Kpp, Money, Phone, RegistrationNumber, Vin,
};
use projections::store::event::CommandMeta;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::app::App;
use crate::auth::{accounts, Role};

/// The demo ADMIN login.
pub const ADMIN_EMAIL: &str = "admin@demo.local";
/// The demo MANAGER login (the demo company's responsible manager).
pub const MANAGER_EMAIL: &str = "manager@demo.local";
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

/// Loads the demo data as of the business day `today`; returns the demo company's id.
///
/// # Errors
/// A failing command or database error.
pub async fn load(app: &App, password: &str, today: NaiveDate) -> anyhow::Result<Uuid> {
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
    let err =
        |e: crate::error::ApiError| anyhow::anyhow!("creating a demo account: {}", e.message());
    let manager_account = accounts::create_account(
        &app.pool,
        &Email::parse(MANAGER_EMAIL)?,
        password,
        &[Role::Manager],
        true,
    )
    .await
    .map_err(err)?;
    let manager_phone = Phone::parse("+7 495 777-00-01")?;
    accounts::set_staff_profile(
        &app.pool,
        manager_account,
        "Иванова Мария Петровна",
        &manager_phone,
    )
    .await?;
    let manager = ManagerDetails {
        account_id: Some(manager_account),
        name: "Иванова Мария Петровна".into(),
        phone: manager_phone,
        email: Email::parse(MANAGER_EMAIL)?,
    };
    app.companies
        .execute(
            &company.to_string(),
            CompanyCommand::AssignManager(manager),
            &CommandMeta::system("demo"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("assigning the demo manager: {e}"))?;
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
    let mut conn = app.pool.acquire().await?;
    accounts::link_company(
        &mut conn,
        client,
        company,
        crate::auth::CompanyRole::Director,
    )
    .await?;
    drop(conn);
    let contract = load_contract(app, company, today).await?;
    load_insurance_and_requests(app, company, contract, client, today).await?;
    load_news_and_faq(app, today).await?;
    load_invoice(app, company, contract).await?;
    load_conversation(app, company, manager_account).await?;
    Ok(company)
}

/// An invoice for the demo contract's next payment, to open as a person would: printed with its download
/// path (`GET /documents/{id}` with a bearer token).
async fn load_invoice(app: &App, company: Uuid, contract: Uuid) -> anyhow::Result<()> {
    let g = crate::app::documents::issue_invoice(
        &app.document_service,
        &keyed("demo-invoice"),
        Uuid::new_v5(&contract, b"demo-invoice"),
        contract,
        company,
        &crate::app::documents::InvoiceSubject::NextPayment,
    )
    .await
    .map_err(|e| anyhow::anyhow!("the demo invoice: {}", e.message()))?;
    println!("demo invoice: /documents/{} ({})", g.id, g.title);
    Ok(())
}

/// The manager's first message in the company's conversation.
async fn load_conversation(app: &App, company: Uuid, manager: Uuid) -> anyhow::Result<()> {
    let mut meta = keyed("demo-conversation");
    meta.actor = format!("account:{manager}");
    app.conversations
        .execute(
            &company.to_string(),
            domain::conversation::ConversationCommand::PostMessage {
                company_id: company,
                message_id: Uuid::new_v5(&company, b"demo-conversation"),
                party: domain::request::Party::Staff,
                author: manager,
                text: "Здравствуйте! Я ваш персональный менеджер. Пишите сюда по любому вопросу о договоре, \
                       платежах и документах — отвечу в течение рабочего дня."
                    .into(),
                attachments: vec![],
            },
            &meta,
        )
        .await
        .map_err(|e| anyhow::anyhow!("the demo conversation: {e}"))?;
    Ok(())
}

/// A news item for every client and a few FAQ entries.
async fn load_news_and_faq(app: &App, today: NaiveDate) -> anyhow::Result<()> {
    use domain::content::{FaqCommand, FaqContent, NewsCommand, NewsContent};
    let news = Uuid::now_v7();
    app.news
        .execute(
            &news.to_string(),
            NewsCommand::PublishNews {
                news_id: news,
                content: NewsContent::new(
                    "Личный кабинет теперь присылает уведомления",
                    "Платежи, сроки, решения по заявкам и документы — в разделе уведомлений и по почте. \
                     Какие события присылать на почту, выберите в настройках.",
                    today,
                    vec![],
                )?,
            },
            &keyed("demo-news-1"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("publishing demo news: {e}"))?;
    let entries = [
        ("Как оплатить лизинговый платёж?", "Платёжным поручением по реквизитам из счёта; в назначении платежа укажите номер договора.", "Оплата"),
        ("Где взять акт сверки?", "Подайте заявку «Бухгалтерские документы» — акт сверки придёт на почту и появится в документах.", "Документы"),
        ("Можно ли выкупить предмет лизинга досрочно?", "Да: посмотрите расчёт досрочного выкупа на странице договора и подайте заявку.", "Выкуп"),
    ];
    for (i, (q, a, section)) in entries.into_iter().enumerate() {
        let id = Uuid::now_v7();
        app.faq
            .execute(
                &id.to_string(),
                FaqCommand::AddFaqEntry {
                    entry_id: id,
                    content: FaqContent::new(q, a, section, 1)?,
                },
                &keyed(&format!("demo-faq-{i}")),
            )
            .await
            .map_err(|e| anyhow::anyhow!("adding a demo FAQ entry: {e}"))?;
    }
    Ok(())
}

/// A КАСКО policy re-billed by the lessor (the first half of the premium paid, the second due in 6 months)
/// and two requests: a certificate in review and a completed consultation.
async fn load_insurance_and_requests(
    app: &App,
    company: Uuid,
    contract: Uuid,
    client: Uuid,
    today: NaiveDate,
) -> anyhow::Result<()> {
    use domain::policy::{PolicyCommand, PolicyKind, PolicyTerms, PremiumPayer};
    use domain::request::{
        CertificateKind, Completion, RequestCommand, RequestDetails, Submission,
    };
    let starts = today - Days::new(60);
    let policy = Uuid::now_v7();
    let out = app
        .policies
        .execute(
            &policy.to_string(),
            PolicyCommand::IssuePolicy(Box::new(PolicyTerms {
                policy_id: policy,
                contract_id: contract,
                insurer: "САО «Демо-Страхование»".into(),
                kind: PolicyKind::Kasko,
                number: "КАСКО-ДЕМО-0001".into(),
                starts_on: starts,
                ends_on: starts + Days::new(364),
                sum_insured: Money::parse("3600000")?,
                premium: Money::parse("144000")?,
                installments: vec![
                    (starts, Money::parse("72000")?),
                    (starts + Days::new(182), Money::parse("72000")?),
                ],
                payer: PremiumPayer::Lessor,
                form: None,
            })),
            &keyed("demo-policy"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("issuing the demo policy: {e}"))?;
    app.policies
        .execute(
            &out.aggregate_id,
            PolicyCommand::RecordPremiumPaid {
                amount: Money::parse("72000")?,
                date: starts,
            },
            &keyed("demo-premium"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("recording the demo premium: {e}"))?;
    let requests = [
        (
            "demo-request-certificate",
            RequestDetails::Certificate {
                certificate: CertificateKind::NoDebt,
                as_of: today,
            },
            false,
        ),
        (
            "demo-request-consultation",
            RequestDetails::Consultation {
                subject: "Досрочный выкуп".into(),
                text: "Какие документы нужны для досрочного выкупа?".into(),
            },
            true,
        ),
    ];
    for (key, details, complete) in requests {
        let id = Uuid::now_v7();
        let out = app
            .requests
            .execute(
                &id.to_string(),
                RequestCommand::SubmitRequest(Box::new(Submission {
                    request_id: id,
                    company_id: company,
                    contract_id: Some(contract),
                    submitted_by: client,
                    submitted_on: today,
                    due_on: today + Days::new(5),
                    details,
                    attachments: vec![],
                    power_of_attorney: None,
                })),
                &keyed(key),
            )
            .await
            .map_err(|e| anyhow::anyhow!("submitting a demo request: {e}"))?;
        let mut steps = vec![RequestCommand::TakeIntoReview];
        if complete {
            steps.push(RequestCommand::Complete(Box::new(Completion {
                completed_on: today,
                note: Some("Нужны заявление и платёжное поручение на сумму выкупа.".into()),
                result: None,
                prolongation: None,
                terms_change: None,
                new_policy: None,
            })));
        }
        for (i, step) in steps.into_iter().enumerate() {
            app.requests
                .execute(&out.aggregate_id, step, &keyed(&format!("{key}-{i}")))
                .await
                .map_err(|e| anyhow::anyhow!("moving a demo request: {e}"))?;
        }
    }
    Ok(())
}

fn keyed(key: &str) -> CommandMeta {
    let mut meta = CommandMeta::system("demo");
    meta.idempotency_key = Some(key.to_owned());
    meta
}

/// The demo contract: concluded 130 days before `today`, monthly lines from 100 days before; the advance and
/// lines 1–2 paid on time, line 3 half paid five days late, line 4 unpaid; one unpaid fine. The clock is
/// moved to `today`, and the business-day process marks the overdue lines and accrues their penalties.
async fn load_contract(app: &App, company: Uuid, today: NaiveDate) -> anyhow::Result<Uuid> {
    let date = today - Days::new(130);
    let id = Uuid::now_v7();
    let terms = ContractTerms {
        contract_id: id,
        company_id: company,
        number: "ДЛ-ДЕМО-0001".into(),
        date,
        contact_email: Email::parse(CLIENT_EMAIL)?,
        subject: LeasingSubject {
            kind: "легковой автомобиль".into(),
            make: "Haval".into(),
            model: "Jolion".into(),
            year: 2025,
            vin: Some(Vin::parse("XZGFF04A5RA000123")?),
            serial_number: None,
            registration_plate: Some("А123ВС777".into()),
        },
        price: Money::parse("3600000")?,
        advance: Advance::Percent(Decimal::from(20)),
        term_months: 36,
        annual_rate: Decimal::from(18),
        first_due_date: date + Days::new(30),
        schedule_kind: ScheduleKind::Annuity,
        explicit_lines: vec![],
        redemption: Money::parse("1000")?,
        redemption_kind: Some(domain::schedule::RedemptionKind::Symbolic),
        penalty: PenaltyTerms {
            rate_per_day: Decimal::new(1, 1),
            base_includes_vat: true,
            payment_day_counts: true,
        },
    };
    let out = app
        .contracts
        .execute(
            &id.to_string(),
            ContractCommand::ConcludeContract(Box::new(terms)),
            &keyed("demo-contract"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("concluding the demo contract: {e}"))?;
    let contract: Uuid = out.aggregate_id.parse()?;
    let key = contract.to_string();
    let lines = projections::views::contracts::load_schedules(&app.pool, &[contract]).await?;
    let amount = |n: i32| -> anyhow::Result<Money> {
        let l = lines
            .iter()
            .find(|l| l.line_number == n)
            .ok_or_else(|| anyhow::anyhow!("demo schedule has no line {n}"))?;
        Ok(Money::from_decimal(l.amount)?)
    };
    let due = |n: i32| {
        lines
            .iter()
            .find(|l| l.line_number == n)
            .map(|l| l.due_date)
    };
    let half = Money::round(amount(3)?.amount() / Decimal::from(2));
    let payments = [
        (0, date, amount(0)?),
        (1, due(1).unwrap_or(date), amount(1)?),
        (2, due(2).unwrap_or(date), amount(2)?),
        (3, due(3).unwrap_or(date) + Days::new(5), half),
    ];
    for (n, paid_on, amount) in payments {
        app.contracts
            .execute(
                &key,
                ContractCommand::RecordPayment {
                    amount,
                    date: paid_on.min(today),
                    bank_reference: format!("DEMO-PP-{n}"),
                    purpose: PaymentPurpose::LeasingPayment,
                },
                &keyed(&format!("demo-payment-{n}")),
            )
            .await
            .map_err(|e| anyhow::anyhow!("recording demo payment {n}: {e}"))?;
    }
    app.contracts
        .execute(
            &key,
            ContractCommand::RegisterTrafficFine {
                resolution_number: "18810177250000000001".into(),
                date: today - Days::new(20),
                amount: Money::parse("1500")?,
                vehicle: "А123ВС777".into(),
                description: "Превышение скорости на 20–40 км/ч".into(),
                article: Some("ч. 2 ст. 12.9".into()),
                discount_until: None,
            },
            &keyed("demo-fine"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("registering the demo fine: {e}"))?;
    match app
        .clock
        .execute(
            CLOCK_ID,
            ClockCommand::AdvanceClock { to: today },
            &CommandMeta::system("demo"),
        )
        .await
    {
        Ok(_) | Err(projections::store::command::CommandError::Rejected(_)) => {}
        Err(e) => anyhow::bail!("starting the demo business day: {e}"),
    }
    Ok(contract)
}
