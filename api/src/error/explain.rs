//! Why the domain refused a command, for machines and people: each refusal of every aggregate as a stable
//! `extensions.reason` code, its `extensions.params`, and a Russian message (the English one is the domain
//! error's own text). A refusal the domain words as free text (a detail of a request, an input of a
//! document) is classified by the shared phrasing of the domain's checks; what no pattern matches stays
//! `INVALID` with its English text.

use domain::company::CompanyError;
use domain::contract::ContractError;
use domain::policy::PolicyError;
use domain::request::RequestError;
use domain::schedule::ScheduleError;
use domain::values::Rule;
use serde_json::{json, Value};

use super::reason::Reason;

/// A refusal with its code, parameters and Russian text.
fn refusal(code: &'static str, params: Option<Value>, ru: impl Into<String>) -> Reason {
    Reason::domain(code, params, ru)
}

fn money(m: &domain::values::Money) -> String {
    m.amount().to_string()
}

/// The reason of a refusal worded by the domain's shared checks ("must not be empty", "must be 1 to 300
/// characters", …); `Invalid` when none matches.
pub fn phrase(english: &str) -> Reason {
    let e = english.trim();
    let number_in = |s: &str| -> Option<usize> {
        s.split(|c: char| !c.is_ascii_digit())
            .rfind(|p| !p.is_empty())?
            .parse()
            .ok()
    };
    if e == "must not be empty" || e.ends_with(" is required") || e == "is required" {
        return Reason::Rule(Rule::Required);
    }
    if let Some(rest) = e
        .strip_prefix("must be 1 to ")
        .or_else(|| e.strip_prefix("must be at most "))
        .or_else(|| e.strip_prefix("at most "))
    {
        if rest.ends_with(" characters") {
            if let Some(max) = number_in(rest) {
                return Reason::Rule(Rule::LengthBetween { min: 1, max });
            }
        }
    }
    for (pattern, code, ru) in WORDING {
        let hit = match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
            (Some(inner), Some(_)) => e.contains(inner.trim_end_matches('*')),
            (None, Some(prefix)) => e.starts_with(prefix),
            _ => e == *pattern,
        };
        if hit {
            return refusal(code, None, *ru);
        }
    }
    if let Some(rest) = e.strip_prefix("the file is larger than ") {
        if let Some(max) = number_in(rest) {
            return refusal(
                "FILE_TOO_LARGE",
                Some(json!({ "max": max })),
                format!("файл больше {max} байт"),
            );
        }
    }
    match e {
        "must be greater than zero" => refusal("NOT_POSITIVE", None, "должно быть больше нуля"),
        "must not be negative" => refusal("NEGATIVE", None, "не может быть отрицательным"),
        "must not be before from" => refusal(
            "DATE_ORDER",
            None,
            "конец периода не может быть раньше его начала",
        ),
        "is before the contract date" => {
            refusal("BEFORE_CONTRACT_DATE", None, "дата раньше даты договора")
        }
        "is in the future" => refusal("IN_FUTURE", None, "дата ещё не наступила"),
        _ => Reason::Invalid,
    }
}

/// The API's and the domain's other shared wordings: the English text (a trailing `*`: its beginning), the
/// code and the Russian text.
const WORDING: &[(&str, &str, &str)] = &[
    (
        "not an active staff account with the MANAGER or ADMIN role",
        "NOT_A_MANAGER",
        "это не действующая учётная запись сотрудника с ролью MANAGER или ADMIN",
    ),
    (
        "the account's staff profile has none*",
        "PROFILE_INCOMPLETE",
        "в профиле сотрудника этого нет: укажите здесь или заполните профиль",
    ),
    (
        "required without accountId",
        "REQUIRED",
        "обязательно, если не указана учётная запись менеджера",
    ),
    (
        "not this thread's company",
        "WRONG_COMPANY",
        "это обсуждение другой компании",
    ),
    (
        "a vehicle is insured under ОСАГО or КАСКО",
        "OSAGO_OR_KASKO",
        "транспортное средство страхуют по ОСАГО или КАСКО",
    ),
    (
        "not a position this API returned",
        "NOT_A_POSITION",
        "это не позиция, которую вернул API",
    ),
    (
        "write something or attach a file",
        "REQUIRED",
        "напишите текст или приложите файл",
    ),
    (
        "a staff invitation offers a staff role*",
        "STAFF_ROLE",
        "сотрудника приглашают на роль сотрудника; клиентов приглашает их компания",
    ),
    (
        "this address is already an account's login*",
        "LOGIN_TAKEN",
        "этот адрес уже чей-то логин: измените роли этой учётной записи",
    ),
    (
        "no enrolment is waiting for a code*",
        "TOTP_NOT_STARTED",
        "подключение приложения не начато: начните его заново",
    ),
    (
        "is not the code the app shows now",
        "TOTP_WRONG",
        "это не тот код, который сейчас показывает приложение",
    ),
    (
        "is neither the app's current code nor an unused recovery code",
        "TOTP_WRONG",
        "неверный код приложения или уже использованный код восстановления",
    ),
    (
        "two-factor sign-in is not on",
        "TOTP_OFF",
        "вход с кодом из приложения не включён",
    ),
    (
        "this person is already one of the company's people*",
        "ALREADY_MEMBER",
        "этот человек уже работает в кабинете от имени компании; измените его роль",
    ),
    (
        "must be one of the company's people*",
        "NOT_MEMBER",
        "представителем может быть только сотрудник компании из списка её людей",
    ),
    (
        "power of attorney * does not cover this*",
        "POWER_DOES_NOT_COVER",
        "доверенность не даёт права на это действие (другой человек, срок или полномочия)",
    ),
    (
        "not a cursor*",
        "UNKNOWN_CURSOR",
        "курсор не из этого списка",
    ),
    (
        "not a notification position",
        "UNKNOWN_POSITION",
        "это не позиция уведомления",
    ),
    (
        "no event has this position",
        "UNKNOWN_POSITION",
        "в журнале нет события с такой позицией",
    ),
    (
        "not a contracts file*",
        "FILE_FORMAT",
        "это не файл договоров: нужен JSON Lines, по одному договору в строке",
    ),
    (
        "not an accounting-documents package*",
        "FILE_FORMAT",
        "это не пакет учётных документов: нужен ZIP-архив с documents.jsonl и файлами, которые он называет",
    ),
    (
        "a line already due or paid cannot change",
        "LINE_SETTLED",
        "строку графика, срок которой наступил или которая оплачена, изменить нельзя",
    ),
    (
        "not a fines register*",
        "FILE_FORMAT",
        "это не реестр штрафов: нужен файл CSV со строкой заголовков или XML <FinesRegister>",
    ),
    (
        "an article of the КоАП РФ such as «ч. 2 ст. 12.9» is expected",
        "FORMAT",
        "нужна статья КоАП РФ, например «ч. 2 ст. 12.9»",
    ),
    (
        "the offence's article admits no discount (ч. 1.3 ст. 32.2 КоАП РФ)",
        "NO_DISCOUNT",
        "за это правонарушение скидка при оплате не предусмотрена (ч. 1.3 ст. 32.2 КоАП РФ)",
    ),
    (
        "the discount's last day is before the resolution",
        "DATE_ORDER",
        "последний день скидки раньше даты постановления",
    ),
    (
        "a fee is zero or more",
        "OUT_OF_RANGE",
        "вознаграждение не может быть отрицательным",
    ),
    (
        "a book value is zero or more",
        "OUT_OF_RANGE",
        "балансовая стоимость не может быть отрицательной",
    ),
    (
        "not before the contract date",
        "OUT_OF_RANGE",
        "дата не может быть раньше даты договора",
    ),
    (
        "not a bank statement*",
        "FILE_FORMAT",
        "это не банковская выписка: нужен файл 1CClientBankExchange или ISO 20022 camt.053",
    ),
    (
        "the file could not be read*",
        "FILE_UNREADABLE",
        "файл не удалось прочитать",
    ),
    (
        "not a policy of this contract",
        "UNKNOWN",
        "это не полис этого договора",
    ),
    (
        "is required for INSURANCE",
        "REQUIRED",
        "обязателен для части INSURANCE",
    ),
    (
        "is only for INSURANCE",
        "NOT_APPLICABLE",
        "указывается только для части INSURANCE",
    ),
    (
        "the act of reconciliation needs a period*",
        "PERIOD_REQUIRED",
        "для акта сверки нужен период: from и to",
    ),
    ("is not a UUID", "FORMAT", "это не UUID"),
    (
        "is not a date (YYYY-MM-DD)",
        "FORMAT",
        "это не дата (ГГГГ-ММ-ДД)",
    ),
    (
        "give either contractId or companyId",
        "ONE_OF",
        "укажите contractId или companyId",
    ),
    ("give both from and to", "REQUIRED", "укажите и from, и to"),
    ("there is no such *", "UNKNOWN", "такого нет"),
    ("no such *", "UNKNOWN", "такого нет"),
    ("is in the future", "IN_FUTURE", "дата ещё не наступила"),
    (
        "must not be after the business day*",
        "IN_FUTURE",
        "дата позже текущего рабочего дня",
    ),
    (
        "is after the business date*",
        "IN_FUTURE",
        "дата позже текущего рабочего дня",
    ),
    (
        "must be after recordedFrom",
        "DATE_ORDER",
        "должно быть позже начала диапазона",
    ),
    (
        "must not be below positionFrom",
        "DATE_ORDER",
        "должно быть не меньше начала диапазона",
    ),
    (
        "is not your current password",
        "WRONG_PASSWORD",
        "неверный текущий пароль",
    ),
    (
        "must differ from the current password",
        "SAME_PASSWORD",
        "новый пароль совпадает с текущим",
    ),
    (
        "the control string is unknown*",
        "TOKEN_INVALID",
        "контрольная строка неизвестна, уже использована или истекла",
    ),
    ("is already your login", "SAME_LOGIN", "это уже ваш логин"),
    (
        "the new address is already another account's login",
        "DUPLICATE",
        "этот адрес уже занят другой учётной записью",
    ),
    (
        "an account with this e-mail already exists",
        "DUPLICATE",
        "учётная запись с таким e-mail уже есть",
    ),
    (
        "a contract with this number already exists",
        "DUPLICATE",
        "договор с таким номером уже есть",
    ),
    (
        "the same file is already among*",
        "DUPLICATE",
        "такой файл уже есть среди документов компании",
    ),
    (
        "this key was already used*",
        "KEY_REUSED",
        "этот ключ идемпотентности уже использован для другой операции",
    ),
    ("the file is empty", "FILE_EMPTY", "файл пустой"),
    (
        "the file's type is not recognised",
        "FILE_TYPE",
        "тип файла не распознан",
    ),
    (
        "the content is not *",
        "FILE_TYPE",
        "содержимое файла не соответствует его типу",
    ),
    (
        "must be a detached CMS signature*",
        "FILE_TYPE",
        "нужна открепленная подпись CMS (application/pkcs7-signature)",
    ),
    (
        "the upload cannot be read*",
        "UPLOAD_UNREADABLE",
        "файл не удалось прочитать",
    ),
    (
        "a file is larger than*",
        "FILE_TOO_LARGE",
        "файл слишком большой или файлов больше допустимого",
    ),
    (
        "nothing is overdue",
        "NOTHING_DUE",
        "просроченной задолженности нет",
    ),
    (
        "none of the company's contracts has anything of it to invoice",
        "NOTHING_DUE",
        "ни по одному договору компании выставлять нечего",
    ),
    (
        "an invoice of all the company's contracts is for the next payments or what is overdue",
        "INVALID",
        "счёт по всем договорам выставляется на ближайшие платежи или на просроченную задолженность",
    ),
    (
        "only a company-wide invoice covers contracts, each with a positive amount",
        "INVALID",
        "распределение по договорам бывает только у счёта по всем договорам компании, с положительными суммами",
    ),
    (
        "there is no next payment to invoice",
        "NOTHING_DUE",
        "нет следующего платежа для счёта",
    ),
    (
        "there are no unpaid penalties",
        "NOTHING_DUE",
        "неоплаченных пеней нет",
    ),
    (
        "no insurance premium is owed on the contract",
        "NOTHING_DUE",
        "по договору нет неоплаченной страховой премии",
    ),
    (
        "nothing is to be paid for the early buyout on that day",
        "NOTHING_DUE",
        "к оплате за досрочный выкуп на эту дату ничего нет",
    ),
    (
        "the early buyout is quoted by the contract",
        "INVALID",
        "сумму досрочного выкупа рассчитывает договор",
    ),
    (
        "the quote's day is before the business date",
        "DATE_ORDER",
        "дата расчёта раньше текущего операционного дня",
    ),
    ("the fine is paid", "ALREADY_PAID", "штраф уже оплачен"),
    (
        "the line is paid or cancelled",
        "ALREADY_PAID",
        "платёж уже оплачен или отменён",
    ),
    (
        "give at least one role",
        "REQUIRED",
        "укажите хотя бы одну роль",
    ),
    (
        "give exactly one of*",
        "ONE_OF",
        "укажите ровно одно из значений",
    ),
    ("give 1 to *", "OUT_OF_RANGE", "недопустимое количество"),
    (
        "you cannot block yourself",
        "SELF",
        "нельзя заблокировать собственную учётную запись",
    ),
    (
        "no terms of use are published",
        "NO_TERMS",
        "условия использования не опубликованы",
    ),
    (
        "the current terms of use are version*",
        "OUTDATED_TERMS",
        "действуют условия использования другой версии",
    ),
    (
        "the business clock has not started*",
        "CLOCK_NOT_STARTED",
        "рабочий календарь ещё не запущен; укажите дату",
    ),
    (
        "the ОС-1 act is drawn up when*",
        "WRONG_STATUS",
        "акт ОС-1 составляется после завершения договора",
    ),
    ("not a certificate", "FORMAT", "это не справка"),
    (
        "send application/json*",
        "CONTENT_TYPE",
        "отправьте application/json (или multipart/form-data с файлами)",
    ),
    (
        "*is not accepted; send application/json*",
        "CONTENT_TYPE",
        "отправьте application/json (или multipart/form-data с файлами)",
    ),
    (
        "a multipart request must carry an Apollo-Require-Preflight header*",
        "PREFLIGHT",
        "multipart-запрос должен нести заголовок Apollo-Require-Preflight",
    ),
    (
        "another administrator must change your roles",
        "SELF",
        "свои роли меняет другой администратор",
    ),
    (
        "a company with this ИНН and КПП is already registered",
        "DUPLICATE",
        "компания с такими ИНН и КПП уже зарегистрирована",
    ),
    (
        "a payment with this bank reference is already recorded on this contract",
        "DUPLICATE",
        "платёж с таким номером банковского документа уже учтён по договору",
    ),
    (
        "a fine with this resolution number (УИН) is already registered",
        "DUPLICATE",
        "штраф с таким УИН уже зарегистрирован",
    ),
    ("at most 50 types", "TOO_MANY", "не больше 50 типов"),
    (
        "must not be before the day of the request",
        "BEFORE_TODAY",
        "дата не может быть раньше дня заявки",
    ),
    (
        "must not be after the day of the request",
        "IN_FUTURE",
        "дата не может быть позже дня заявки",
    ),
    (
        "is required for delivery by courier or post",
        "REQUIRED",
        "нужен для доставки курьером или почтой",
    ),
    (
        "name 1 to 60 countries",
        "OUT_OF_RANGE",
        "укажите от 1 до 60 стран",
    ),
    (
        "* is not an ISO 3166-1 alpha-2 country code*",
        "FORMAT",
        "это не код страны ISO 3166-1",
    ),
    ("RU is not abroad", "NOT_ABROAD", "Россия — не заграница"),
    (
        "name 1 to 20 drivers",
        "OUT_OF_RANGE",
        "укажите от 1 до 20 водителей",
    ),
    (
        "must be 10 digits and letters",
        "FORMAT",
        "должно быть 10 цифр и букв",
    ),
    (
        "name at least one requisite",
        "REQUIRED",
        "укажите хотя бы один реквизит",
    ),
    (
        "name at least one document",
        "REQUIRED",
        "укажите хотя бы один документ",
    ),
    (
        "is required for roaming through your own operator",
        "REQUIRED",
        "нужен для роуминга через своего оператора",
    ),
    (
        "must be stated (SYMBOLIC or RESIDUAL) when the redemption is above zero",
        "REQUIRED",
        "укажите вид выкупного платежа (SYMBOLIC или RESIDUAL), если он больше нуля",
    ),
    (
        "must be between 1950 and the year after the contract date",
        "OUT_OF_RANGE",
        "год — от 1950 до следующего после даты договора",
    ),
    (
        "at most 600 months",
        "OUT_OF_RANGE",
        "не больше 600 месяцев",
    ),
    (
        "must be at least zero and less than the financed amount",
        "OUT_OF_RANGE",
        "от нуля до финансируемой суммы",
    ),
    (
        "must equal the number of explicit lines",
        "LINES_COUNT",
        "должно совпадать с числом строк графика",
    ),
    (
        "lines are given only for an explicit schedule",
        "LINES_NOT_EXPLICIT",
        "строки задаются только для графика EXPLICIT",
    ),
    (
        "a resolution number (УИН) is 20 or 25 digits",
        "FORMAT",
        "УИН — 20 или 25 цифр",
    ),
    (
        "must start with the operator code*",
        "FORMAT",
        "должен начинаться с кода оператора",
    ),
    (
        "must be the certificate's SHA-1 thumbprint*",
        "FORMAT",
        "отпечаток сертификата SHA-1 — 40 шестнадцатеричных цифр",
    ),
    (
        "must be from *",
        "OUT_OF_RANGE",
        "значение вне допустимых пределов",
    ),
    ("at most *", "TOO_MANY", "слишком много"),
];

/// A Company command's refusal.
pub fn company(e: &CompanyError) -> Reason {
    match e {
        CompanyError::DuplicateInnKpp { existing } => refusal(
            "DUPLICATE",
            Some(json!({ "existing": existing })),
            "компания с такими ИНН и КПП уже зарегистрирована",
        ),
        CompanyError::KppRequired => {
            refusal("KPP_REQUIRED", None, "у юридического лица должен быть КПП")
        }
        CompanyError::KppNotAllowed => refusal(
            "KPP_NOT_ALLOWED",
            None,
            "у индивидуального предпринимателя (ИНН из 12 цифр) нет КПП",
        ),
        CompanyError::OgrnDoesNotMatchKind => refusal(
            "OGRN_KIND",
            None,
            "у юридического лица ОГРН из 13 цифр, у предпринимателя ОГРНИП из 15",
        ),
        CompanyError::Empty { .. } => Reason::Rule(Rule::Required),
        CompanyError::AlreadyRegistered | CompanyError::NotRegistered => {
            refusal("STATE", None, "компания не в том состоянии")
        }
        CompanyError::PowerOfAttorneyExists(number) => refusal(
            "DUPLICATE",
            Some(json!({ "number": number })),
            "доверенность с таким номером уже зарегистрирована",
        ),
        CompanyError::UnknownPowerOfAttorney(number) => refusal(
            "UNKNOWN_POWER_OF_ATTORNEY",
            Some(json!({ "number": number })),
            "у компании нет доверенности с таким номером",
        ),
        CompanyError::InvalidPowerOfAttorney { message, .. } => refusal(
            "POWER_OF_ATTORNEY",
            None,
            match *message {
                "must not be before validFrom" => {
                    "срок действия не может кончаться раньше, чем начинается"
                }
                "must be the МЧД's number in the register" => "номер МЧД из реестра ФНС",
                _ => "доверенность должна давать право подписывать документы или подавать заявки",
            },
        ),
        CompanyError::LookupFailed(_) => Reason::Invalid,
    }
}

/// An explicit schedule's refusal.
fn schedule(e: &ScheduleError) -> Reason {
    match e {
        ScheduleError::NoLines => refusal(
            "SCHEDULE_EMPTY",
            None,
            "в графике должна быть хотя бы одна строка",
        ),
        ScheduleError::DatesNotIncreasing { index } => refusal(
            "SCHEDULE_DATES",
            Some(json!({ "line": index })),
            format!("строка {index}: даты платежей должны возрастать"),
        ),
        ScheduleError::NonPositiveAmount { index } => refusal(
            "SCHEDULE_AMOUNT",
            Some(json!({ "line": index })),
            format!("строка {index}: сумма должна быть больше нуля"),
        ),
        ScheduleError::BeforeContractDate { index } => refusal(
            "SCHEDULE_BEFORE_CONTRACT_DATE",
            Some(json!({ "line": index })),
            format!("строка {index}: платёж раньше даты договора"),
        ),
        ScheduleError::PaymentDoesNotCoverInterest => refusal(
            "PAYMENT_BELOW_INTEREST",
            None,
            "платёж не покрывает проценты",
        ),
    }
}

/// A Contract command's refusal.
pub fn contract(e: &ContractError) -> Reason {
    match e {
        ContractError::Empty { .. } => Reason::Rule(Rule::Required),
        ContractError::NotPositive { .. } => phrase("must be greater than zero"),
        ContractError::OutOfRange { reason, .. } => match phrase(reason) {
            Reason::Invalid => refusal(
                "OUT_OF_RANGE",
                None,
                format!("значение вне допустимых пределов ({reason})"),
            ),
            known => known,
        },
        ContractError::AdvanceNotBelowPrice { advance, price } => refusal(
            "ADVANCE_NOT_BELOW_PRICE",
            Some(json!({ "advance": money(advance), "price": money(price) })),
            format!(
                "аванс ({}) должен быть меньше стоимости ({})",
                money(advance),
                money(price)
            ),
        ),
        ContractError::TermZero => refusal("TERM_ZERO", None, "срок — не меньше одного месяца"),
        ContractError::SubjectNotIdentified => refusal(
            "SUBJECT_NOT_IDENTIFIED",
            None,
            "у предмета лизинга должен быть VIN или заводской номер",
        ),
        ContractError::Schedule(s) => schedule(s),
        ContractError::BeforeContractDate { .. } => phrase("is before the contract date"),
        ContractError::DuplicateFine(n) => refusal(
            "DUPLICATE",
            Some(json!({ "resolutionNumber": n })),
            format!("штраф {n} уже зарегистрирован"),
        ),
        ContractError::FineNotFound(n) => refusal(
            "UNKNOWN",
            Some(json!({ "resolutionNumber": n })),
            format!("по договору нет штрафа {n}"),
        ),
        ContractError::FineAlreadyPaid(n) => refusal(
            "ALREADY_PAID",
            Some(json!({ "resolutionNumber": n })),
            format!("штраф {n} уже оплачен"),
        ),
        ContractError::WrongStatus(s) => refusal(
            "WRONG_STATUS",
            Some(json!({ "status": s.as_str() })),
            format!("для договора в статусе «{}» это недоступно", s.as_str()),
        ),
        ContractError::InsufficientCredit { available } => refusal(
            "INSUFFICIENT_CREDIT",
            Some(json!({ "available": money(available) })),
            format!(
                "переплаты ({}) не хватает на досрочное погашение",
                money(available)
            ),
        ),
        ContractError::RepaymentExceedsPrincipal { outstanding } => refusal(
            "EXCEEDS_PRINCIPAL",
            Some(json!({ "outstanding": money(outstanding) })),
            format!(
                "досрочное погашение больше остатка основного долга ({})",
                money(outstanding)
            ),
        ),
        ContractError::NothingToRecalculate => refusal(
            "NOTHING_TO_RECALCULATE",
            None,
            "после этой даты нет неоплаченных платежей",
        ),
        ContractError::ExplicitScheduleNotRecalculated => refusal(
            "EXPLICIT_SCHEDULE",
            None,
            "заданный построчно график не пересчитывается; загрузите новый график",
        ),
        ContractError::OutstandingDebt { amount } => refusal(
            "OUTSTANDING_DEBT",
            Some(json!({ "amount": money(amount) })),
            format!("по договору ещё не оплачено {}", money(amount)),
        ),
        ContractError::BuyoutNotCovered { available, price } => refusal(
            "BUYOUT_NOT_COVERED",
            Some(json!({ "available": money(available), "price": money(price) })),
            format!(
                "переплаты ({}) не хватает на выкуп ({})",
                money(available),
                money(price)
            ),
        ),
        ContractError::CompanyNotFound => refusal(
            "UNKNOWN",
            None,
            "нет зарегистрированной компании с таким id",
        ),
        ContractError::AlreadyConcluded | ContractError::NotConcluded => {
            refusal("STATE", None, "договор не в том состоянии")
        }
        ContractError::LookupFailed(_) => Reason::Invalid,
    }
}

/// A Policy command's refusal.
pub fn policy(e: &PolicyError) -> Reason {
    match e {
        PolicyError::ContractNotFound => refusal("UNKNOWN", None, "нет такого договора"),
        PolicyError::BadText { max, .. } => Reason::Rule(Rule::LengthBetween { min: 1, max: *max }),
        PolicyError::NotPositive { .. } => phrase("must be greater than zero"),
        PolicyError::PeriodNotAfterStart { .. } => refusal(
            "DATE_ORDER",
            None,
            "должно быть позже первого дня страхования",
        ),
        PolicyError::InstallmentsDoNotAddUp { sum, premium } => refusal(
            "INSTALLMENTS_SUM",
            Some(json!({ "sum": money(sum), "premium": money(premium) })),
            format!(
                "сумма взносов ({}) не равна премии ({})",
                money(sum),
                money(premium)
            ),
        ),
        PolicyError::InstallmentAfterCover(n) => refusal(
            "INSTALLMENT_AFTER_COVER",
            Some(json!({ "installment": n })),
            format!("взнос {n} приходится на день после окончания страхования"),
        ),
        PolicyError::PaymentExceedsPremium { unpaid } => refusal(
            "EXCEEDS_PREMIUM",
            Some(json!({ "unpaid": money(unpaid) })),
            format!("оплата больше неоплаченной премии ({})", money(unpaid)),
        ),
        PolicyError::Cancelled => refusal(
            "WRONG_STATUS",
            Some(json!({ "status": "cancelled" })),
            "полис аннулирован",
        ),
        PolicyError::OutsideCover => refusal("OUTSIDE_COVER", None, "дата вне периода страхования"),
        PolicyError::EventAlreadyReported => {
            refusal("DUPLICATE", None, "об этом страховом случае уже сообщено")
        }
        PolicyError::BeforeCover { .. } => {
            refusal("BEFORE_COVER", None, "дата раньше первого дня страхования")
        }
        PolicyError::AlreadyIssued | PolicyError::NotIssued => {
            refusal("STATE", None, "полис не в том состоянии")
        }
        PolicyError::LookupFailed(_) => Reason::Invalid,
    }
}

/// A ClientRequest command's refusal.
pub fn request(e: &RequestError) -> Reason {
    match e {
        RequestError::Detail { reason, .. } => phrase(reason),
        RequestError::ContractRequired => refusal(
            "CONTRACT_REQUIRED",
            None,
            "для заявки этого вида нужно указать договор",
        ),
        RequestError::DueBeforeSubmission => {
            refusal("DATE_ORDER", None, "срок раньше дня подачи заявки")
        }
        RequestError::BadText { max, .. } => {
            Reason::Rule(Rule::LengthBetween { min: 1, max: *max })
        }
        RequestError::WrongStatus(s) => refusal(
            "WRONG_STATUS",
            Some(json!({ "status": s.as_str() })),
            format!("для заявки в статусе «{}» это недоступно", s.as_str()),
        ),
        RequestError::ProlongationTermsRequired => refusal(
            "PROLONGATION_REQUIRED",
            None,
            "для пролонгации нужны новый период и премия",
        ),
        RequestError::PolicyTermsRequired => refusal(
            "POLICY_REQUIRED",
            None,
            "для завершения заявки на страхование нужен оформленный полис",
        ),
        RequestError::TooManyAttachments(n) => refusal(
            "TOO_MANY_FILES",
            Some(json!({ "max": n })),
            format!("к заявке можно приложить не больше {n} файлов"),
        ),
        RequestError::AlreadySubmitted | RequestError::NotSubmitted => {
            refusal("STATE", None, "заявка не в том состоянии")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::values::Money;

    fn cyrillic(s: &str) -> bool {
        s.chars()
            .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
    }

    fn classified(r: &Reason) -> bool {
        !matches!(r, Reason::Invalid)
            && cyrillic(&r.message(crate::mail::templates::Locale::Ru, "f", None, "english"))
    }

    #[test]
    fn every_rule_refusal_of_every_aggregate_has_a_code_and_a_russian_message() {
        let m = Money::from_decimal(rust_decimal::Decimal::new(100, 0)).unwrap();
        let company = [
            CompanyError::DuplicateInnKpp {
                existing: uuid::Uuid::nil(),
            },
            CompanyError::KppRequired,
            CompanyError::KppNotAllowed,
            CompanyError::OgrnDoesNotMatchKind,
            CompanyError::Empty { field: "fullName" },
        ];
        for e in &company {
            assert!(classified(&super::company(e)), "{e}");
        }
        let contract = [
            ContractError::Empty { field: "number" },
            ContractError::NotPositive { field: "price" },
            ContractError::OutOfRange {
                field: "termMonths",
                reason: "at most 600 months",
            },
            ContractError::AdvanceNotBelowPrice {
                advance: m,
                price: m,
            },
            ContractError::TermZero,
            ContractError::SubjectNotIdentified,
            ContractError::Schedule(ScheduleError::NoLines),
            ContractError::Schedule(ScheduleError::DatesNotIncreasing { index: 2 }),
            ContractError::Schedule(ScheduleError::NonPositiveAmount { index: 2 }),
            ContractError::Schedule(ScheduleError::BeforeContractDate { index: 2 }),
            ContractError::Schedule(ScheduleError::PaymentDoesNotCoverInterest),
            ContractError::BeforeContractDate { field: "date" },
            ContractError::DuplicateFine("1".into()),
            ContractError::FineNotFound("1".into()),
            ContractError::FineAlreadyPaid("1".into()),
            ContractError::WrongStatus(domain::contract::ContractStatus::Completed),
            ContractError::InsufficientCredit { available: m },
            ContractError::RepaymentExceedsPrincipal { outstanding: m },
            ContractError::NothingToRecalculate,
            ContractError::ExplicitScheduleNotRecalculated,
            ContractError::OutstandingDebt { amount: m },
            ContractError::BuyoutNotCovered {
                available: m,
                price: m,
            },
            ContractError::CompanyNotFound,
        ];
        for e in &contract {
            assert!(classified(&super::contract(e)), "{e}");
        }
        let policy = [
            PolicyError::ContractNotFound,
            PolicyError::BadText {
                field: "insurer",
                max: 300,
            },
            PolicyError::NotPositive { field: "premium" },
            PolicyError::PeriodNotAfterStart { field: "endsOn" },
            PolicyError::InstallmentsDoNotAddUp { sum: m, premium: m },
            PolicyError::InstallmentAfterCover(2),
            PolicyError::PaymentExceedsPremium { unpaid: m },
            PolicyError::Cancelled,
            PolicyError::OutsideCover,
            PolicyError::EventAlreadyReported,
            PolicyError::BeforeCover { field: "date" },
        ];
        for e in &policy {
            assert!(classified(&super::policy(e)), "{e}");
        }
        let request = [
            RequestError::ContractRequired,
            RequestError::DueBeforeSubmission,
            RequestError::BadText {
                field: "text",
                max: 5000,
            },
            RequestError::WrongStatus(domain::request::RequestStatus::Completed),
            RequestError::ProlongationTermsRequired,
            RequestError::PolicyTermsRequired,
            RequestError::TooManyAttachments(20),
        ];
        for e in &request {
            assert!(classified(&super::request(e)), "{e}");
        }
    }

    /// The text of a string literal (or `format!` of one) at the start of `arg`, placeholders read as a
    /// number (the way they are filled in).
    fn literal(arg: &str) -> Option<String> {
        let arg = arg.trim_start();
        let arg = arg.strip_prefix("format!(").unwrap_or(arg);
        let lit = arg.strip_prefix('"')?;
        let end = lit.find('"')?;
        let mut msg = String::new();
        let mut rest = &lit[..end];
        while let Some(open) = rest.find('{') {
            msg.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            msg.push('7');
            rest = &rest[close.min(rest.len())..];
        }
        msg.push_str(rest);
        Some(msg)
    }

    /// The free-text reasons the domain words its refusals with: a request detail's, a contract range's,
    /// and the `message` of a document's, an ЭДО connection's or content's invalid input.
    fn domain_wordings(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                domain_wordings(&path, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.to_string_lossy().contains("test")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for marker in ["reason: ", "message: "] {
                for (i, _) in text.match_indices(marker) {
                    if let Some(m) = literal(&text[i + marker.len()..]) {
                        out.push((path.display().to_string(), m));
                    }
                }
            }
            for (i, _) in text.match_indices("RequestError::detail(") {
                let call = &text[i + "RequestError::detail(".len()..];
                if let Some(comma) = call.find(',') {
                    if let Some(m) = literal(&call[comma + 1..]) {
                        out.push((path.display().to_string(), m));
                    }
                }
            }
        }
    }

    /// The messages written out at `ApiError::validation(field, "…")` (or `format!("…")`) calls in `dir`.
    fn written_messages(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                written_messages(&path, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("explain.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // What the unit tests write is not what the API answers.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (i, _) in text.match_indices("ApiError::validation(") {
                let call = &text[i + "ApiError::validation(".len()..];
                // The second argument: after the first top-level comma.
                let mut depth = 0;
                let mut second = None;
                for (j, c) in call.char_indices() {
                    match c {
                        '(' | '[' | '{' => depth += 1,
                        ')' | ']' | '}' if depth == 0 => break,
                        ')' | ']' | '}' => depth -= 1,
                        ',' if depth == 0 => {
                            second = Some(call[j + 1..].trim_start());
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(msg) = second.and_then(literal) else {
                    continue;
                };
                out.push((path.display().to_string(), msg));
            }
        }
    }

    /// Every message the API writes out for a VALIDATION error has a code of its own and a Russian text:
    /// a new message must use a shared wording or add one (the test of the class, not of one message).
    #[test]
    fn every_validation_message_the_api_writes_is_classified() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        written_messages(&src, &mut all);
        assert!(all.len() > 40, "the calls were not found: {}", all.len());
        let before = all.len();
        domain_wordings(&src.join("../../domain/src"), &mut all);
        assert!(
            all.len() > before + 20,
            "the domain's wordings were not found"
        );
        let unclassified: Vec<String> = all
            .iter()
            .filter(|(_, m)| !classified(&phrase(m)))
            .map(|(f, m)| format!("{f}: {m:?}"))
            .collect();
        assert!(
            unclassified.is_empty(),
            "VALIDATION messages without a reason (add a wording to WORDING):\n{}",
            unclassified.join("\n")
        );
    }

    #[test]
    fn the_shared_wording_of_the_domain_checks_is_classified() {
        for (english, code) in [
            ("must not be empty", "REQUIRED"),
            ("must be 1 to 300 characters", "LENGTH_BETWEEN"),
            ("must be at most 2000 characters", "LENGTH_BETWEEN"),
            ("at most 64 characters", "LENGTH_BETWEEN"),
            ("must be greater than zero", "NOT_POSITIVE"),
            ("must not be negative", "NEGATIVE"),
            ("must not be before from", "DATE_ORDER"),
            ("the id the operator assigned is required", "REQUIRED"),
            ("something else entirely", "INVALID"),
        ] {
            assert_eq!(phrase(english).code(), code, "{english}");
        }
        assert_eq!(
            phrase("must be 1 to 300 characters").params(),
            Some(json!({"min": 1, "max": 300}))
        );
    }
}
