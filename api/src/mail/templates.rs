//! The mails the cabinet sends, in Russian and English. Each is a list of blocks rendered twice, as plain
//! text and as HTML (values escaped), so the two never say different things.

use chrono::{DateTime, Utc};

/// The language of the mails an account receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// Русский (the default).
    Ru,
    /// English.
    En,
}

impl Locale {
    /// From the stored code; anything unknown is Russian.
    pub fn parse(code: &str) -> Self {
        if code.eq_ignore_ascii_case("en") {
            Self::En
        } else {
            Self::Ru
        }
    }

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }
}

/// What every mail mentions: the cabinet's address.
#[derive(Debug, Clone)]
pub struct Site {
    /// The cabinet's public address, e.g. https://lk.example-leasing.ru.
    pub url: String,
}

/// A rendered mail, before it has a recipient.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The template's name (the X-Cabinet-Template header, the outbox's `template`).
    pub template: &'static str,
    /// The subject.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML.
    pub html: String,
}

enum Block {
    Para(String),
    /// A value the reader copies: a password or control string. Shown on its own line (monospace in HTML).
    Code(String),
    Link(String),
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn render(template: &'static str, locale: Locale, subject: String, blocks: Vec<Block>) -> Letter {
    let footer = match locale {
        Locale::Ru => "Это письмо отправлено автоматически, отвечать на него не нужно.",
        Locale::En => "This message was sent automatically; please do not reply.",
    };
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n",
        locale.code(),
        escape(&subject)
    );
    for b in &blocks {
        match b {
            Block::Para(p) => {
                text.push_str(p);
                html.push_str(&format!("<p>{}</p>\n", escape(p)));
            }
            Block::Code(c) => {
                text.push_str(&format!("    {c}"));
                html.push_str(&format!(
                    "<p style=\"font-family: monospace; font-size: 1.3em\"><b>{}</b></p>\n",
                    escape(c)
                ));
            }
            Block::Link(u) => {
                text.push_str(u);
                html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(u)));
            }
        }
        text.push_str("\n\n");
    }
    text.push_str("-- \n");
    text.push_str(footer);
    text.push('\n');
    html.push_str(&format!(
        "<hr><p style=\"color: #777; font-size: 0.9em\">{}</p>\n</body></html>\n",
        escape(footer)
    ));
    Letter {
        template,
        subject,
        text,
        html,
    }
}

fn when(t: DateTime<Utc>) -> String {
    // Moscow time is what the lessor's clients read; the zone is named so nobody guesses.
    let msk = t.with_timezone(&chrono_tz::Europe::Moscow);
    format!("{} (МСК)", msk.format("%d.%m.%Y %H:%M"))
}

/// A new account: the login and a temporary password, valid until `expires`.
pub fn temporary_password(
    l: Locale,
    site: &Site,
    company: &str,
    login: &str,
    password: &str,
    expires: DateTime<Utc>,
) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "temporary_password",
            l,
            "Доступ в личный кабинет лизингополучателя".into(),
            vec![
                Para("Здравствуйте!".into()),
                Para(format!(
                    "Для компании {company} открыт личный кабинет лизингополучателя. Логин — ваш адрес: {login}. Временный пароль:"
                )),
                Code(password.into()),
                Para(format!(
                    "Пароль действует до {}. При первом входе кабинет попросит придумать новый пароль.",
                    when(expires)
                )),
                Link(site.url.clone()),
                Para("Если вы не ждали этого письма, сообщите своему менеджеру.".into()),
            ],
        ),
        Locale::En => render(
            "temporary_password",
            l,
            "Your lessee cabinet account".into(),
            vec![
                Para("Hello,".into()),
                Para(format!(
                    "A lessee cabinet has been opened for {company}. Your login is this address: {login}. Temporary password:"
                )),
                Code(password.into()),
                Para(format!(
                    "It is valid until {}. At the first sign-in you will be asked to choose a new password.",
                    when(expires)
                )),
                Link(site.url.clone()),
                Para("If you did not expect this message, tell your manager.".into()),
            ],
        ),
    }
}

/// The staff reset an account: a new temporary password.
pub fn temporary_password_reset(
    l: Locale,
    site: &Site,
    login: &str,
    password: &str,
    expires: DateTime<Utc>,
) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "temporary_password_reset",
            l,
            "Новый временный пароль к личному кабинету".into(),
            vec![
                Para(format!(
                    "Администратор выдал новый временный пароль для входа {login}. Прежний пароль больше не действует, все сеансы завершены."
                )),
                Code(password.into()),
                Para(format!(
                    "Пароль действует до {}; при входе его нужно будет сменить.",
                    when(expires)
                )),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "temporary_password_reset",
            l,
            "A new temporary password for your cabinet".into(),
            vec![
                Para(format!(
                    "An administrator issued a new temporary password for {login}. The old password no longer works and every session was ended."
                )),
                Code(password.into()),
                Para(format!(
                    "It is valid until {}; you will change it when you sign in.",
                    when(expires)
                )),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// An existing account now also serves `company`.
pub fn company_linked(l: Locale, site: &Site, company: &str) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "company_linked",
            l,
            format!("{company}: компания добавлена в ваш личный кабинет"),
            vec![
                Para(format!(
                    "С компанией {company} заключён договор лизинга, в котором вы указаны контактным лицом. Компания добавлена в ваш личный кабинет: войдите с прежним логином и паролем и выберите её в списке компаний."
                )),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "company_linked",
            l,
            format!("{company} was added to your cabinet"),
            vec![
                Para(format!(
                    "{company} signed a leasing contract naming you as its contact person. The company was added to your cabinet: sign in as before and choose it in your list of companies."
                )),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// Password recovery: the control string, valid `minutes`.
pub fn password_reset(l: Locale, site: &Site, control: &str, minutes: i64) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "password_reset",
            l,
            "Восстановление пароля к личному кабинету".into(),
            vec![
                Para("Кто-то (возможно, вы) запросил восстановление пароля. Контрольная строка:".into()),
                Code(control.into()),
                Para(format!(
                    "Введите её в кабинете вместе с новым паролем. Строка действует {minutes} минут и только один раз; после смены пароля все сеансы будут завершены."
                )),
                Link(site.url.clone()),
                Para("Если вы не запрашивали восстановление, просто не отвечайте: пароль не изменится.".into()),
            ],
        ),
        Locale::En => render(
            "password_reset",
            l,
            "Password recovery for your cabinet".into(),
            vec![
                Para("Someone (probably you) asked to recover the password. Control string:".into()),
                Code(control.into()),
                Para(format!(
                    "Enter it in the cabinet with a new password. It is valid for {minutes} minutes, once; every session ends when the password changes."
                )),
                Link(site.url.clone()),
                Para("If it was not you, ignore this message: the password stays as it is.".into()),
            ],
        ),
    }
}

/// The password was changed (by the user or by recovery).
pub fn password_changed(l: Locale, site: &Site, at: DateTime<Utc>) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "password_changed",
            l,
            "Пароль к личному кабинету изменён".into(),
            vec![
                Para(format!("Пароль к вашему личному кабинету изменён {}.", when(at))),
                Para("Если это были не вы, немедленно восстановите пароль и сообщите своему менеджеру.".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "password_changed",
            l,
            "Your cabinet password was changed".into(),
            vec![
                Para(format!("The password of your cabinet was changed on {}.", when(at))),
                Para("If it was not you, recover the password now and tell your manager.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// Confirm a new login address (sent to the new address).
pub fn login_change_confirmation(
    l: Locale,
    site: &Site,
    new_email: &str,
    control: &str,
    hours: i64,
) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "login_change_confirmation",
            l,
            "Подтвердите новый логин личного кабинета".into(),
            vec![
                Para(format!(
                    "Поступил запрос сделать адрес {new_email} логином личного кабинета. Чтобы подтвердить, введите в кабинете контрольную строку:"
                )),
                Code(control.into()),
                Para(format!("Строка действует {hours} часа и только один раз.")),
                Link(site.url.clone()),
                Para("Если вы ничего не запрашивали, не отвечайте на это письмо.".into()),
            ],
        ),
        Locale::En => render(
            "login_change_confirmation",
            l,
            "Confirm your new cabinet login".into(),
            vec![
                Para(format!(
                    "We were asked to make {new_email} the login of a cabinet account. To confirm, enter this control string in the cabinet:"
                )),
                Code(control.into()),
                Para(format!("It is valid for {hours} hours, once.")),
                Link(site.url.clone()),
                Para("If you asked for nothing, ignore this message.".into()),
            ],
        ),
    }
}

/// A login change was started (sent to the current address, at once): the owner learns of it before it
/// completes, and what to do when it was not them.
pub fn login_change_requested(
    l: Locale,
    site: &Site,
    new_email_masked: &str,
    address: &str,
) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "login_change_requested",
            l,
            "Запрошена смена логина личного кабинета".into(),
            vec![
                Para(format!(
                    "С адреса {address} запрошена смена логина вашего личного кабинета на {new_email_masked}. Логин сменится, когда запрос подтвердят с нового адреса."
                )),
                Para("Если это были не вы: войдите в кабинет и смените пароль — это завершит все чужие сеансы, — и сообщите своему менеджеру.".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "login_change_requested",
            l,
            "A change of your cabinet login was requested".into(),
            vec![
                Para(format!(
                    "A change of your cabinet login to {new_email_masked} was requested from {address}. It takes effect once confirmed from the new address."
                )),
                Para("If it was not you: sign in and change your password (this ends every other session), and tell your manager.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// The login moved to `new_email` (sent to the old address).
pub fn login_changed(l: Locale, site: &Site, new_email_masked: &str) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "login_changed",
            l,
            "Логин личного кабинета изменён".into(),
            vec![
                Para(format!(
                    "Логин вашего личного кабинета изменён на {new_email_masked}. Этот адрес больше не используется для входа."
                )),
                Para("Если это были не вы, срочно сообщите своему менеджеру.".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "login_changed",
            l,
            "Your cabinet login was changed".into(),
            vec![
                Para(format!(
                    "The login of your cabinet was changed to {new_email_masked}. This address no longer signs in."
                )),
                Para("If it was not you, tell your manager at once.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// A sign-in from a client this account has not used before.
pub fn new_sign_in(
    l: Locale,
    site: &Site,
    at: DateTime<Utc>,
    address: &str,
    user_agent: &str,
) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "new_sign_in",
            l,
            "Вход в личный кабинет с нового устройства".into(),
            vec![
                Para(format!(
                    "{} в ваш личный кабинет вошли с нового устройства: адрес {address}, программа «{user_agent}».",
                    when(at)
                )),
                Para("Если это были не вы, смените пароль и завершите все сеансы (кнопка «Выйти на всех устройствах»).".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "new_sign_in",
            l,
            "New sign-in to your cabinet".into(),
            vec![
                Para(format!(
                    "On {} someone signed in to your cabinet from a new client: address {address}, program \"{user_agent}\".",
                    when(at)
                )),
                Para("If it was not you, change the password and sign out everywhere.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// Too many wrong passwords: sign-in is locked until `until`.
pub fn account_locked(l: Locale, site: &Site, until: DateTime<Utc>) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "account_locked",
            l,
            "Вход в личный кабинет временно заблокирован".into(),
            vec![
                Para(format!(
                    "Из-за нескольких неверных паролей подряд вход в ваш кабинет заблокирован до {}.",
                    when(until)
                )),
                Para("Если пароль вводили не вы, после разблокировки смените его.".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "account_locked",
            l,
            "Sign-in to your cabinet is locked for a while".into(),
            vec![
                Para(format!(
                    "After several wrong passwords in a row, sign-in to your cabinet is locked until {}.",
                    when(until)
                )),
                Para("If it was not you typing them, change the password once it is unlocked.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// The account was deleted on request; personal data is destroyed by `destroy_by`.
pub fn account_deleted(l: Locale, destroy_by: DateTime<Utc>) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "account_deleted",
            l,
            "Личный кабинет удалён".into(),
            vec![
                Para("По вашему запросу учётная запись личного кабинета отключена.".into()),
                Para(format!(
                    "Ваши персональные данные, которые не требуются по закону, будут уничтожены не позднее {}.",
                    when(destroy_by)
                )),
            ],
        ),
        Locale::En => render(
            "account_deleted",
            l,
            "Your cabinet account was deleted".into(),
            vec![
                Para("As you asked, your cabinet account was deactivated.".into()),
                Para(format!(
                    "Personal data that no law requires us to keep will be destroyed by {}.",
                    when(destroy_by)
                )),
            ],
        ),
    }
}

/// A notification the account chose to receive by mail: its title as the subject, its text, and a link
/// to the cabinet's notifications.
pub fn notification(l: Locale, site: &Site, title: &str, text: &str) -> Letter {
    use Block::*;
    let footer = match l {
        Locale::Ru => "Письма о событиях настраиваются в личном кабинете, в разделе уведомлений.",
        Locale::En => {
            "You choose which notifications are mailed in the cabinet's notification settings."
        }
    };
    render(
        "notification",
        l,
        title.to_owned(),
        vec![
            Para(text.to_owned()),
            Link(format!("{}/notifications", site.url.trim_end_matches('/'))),
            Para(footer.into()),
        ],
    )
}

/// `ivan.petrov@romashka.ru` → `iv***@romashka.ru`: enough to recognise, not enough to harvest.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let keep: String = local.chars().take(2).collect();
            format!("{keep}***@{domain}")
        }
        None => "***".into(),
    }
}

/// The documents a completed request produced, attached: certificates, acts.
pub fn request_documents(l: Locale, site: &Site, titles: &[String]) -> Letter {
    use Block::*;
    let (subject, intro, outro) = match l {
        Locale::Ru => (
            "Документы по вашей заявке",
            "По вашей заявке подготовлены документы (во вложении):",
            "Они также доступны в личном кабинете, в разделе документов.",
        ),
        Locale::En => (
            "Documents for your request",
            "The documents for your request are attached:",
            "They are also in the cabinet, under documents.",
        ),
    };
    let mut blocks = vec![Para(intro.into())];
    blocks.extend(titles.iter().map(|t| Para(format!("— {t}"))));
    blocks.push(Link(format!(
        "{}/documents",
        site.url.trim_end_matches('/')
    )));
    blocks.push(Para(outro.into()));
    render("request_documents", l, subject.to_owned(), blocks)
}

/// A login moved here by staff (the person lost the old mailbox).
pub fn login_moved(l: Locale, site: &Site, login: &str) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "login_moved",
            l,
            "Ваш новый логин в личном кабинете".into(),
            vec![
                Para(format!("По вашей заявке лизинговая компания проверила вашу личность и перенесла вход в личный кабинет на этот адрес: {login}. Пароль прежний; все сеансы завершены.")),
                Para("Если вы не подавали такую заявку, немедленно сообщите своему менеджеру.".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "login_moved",
            l,
            "Your new cabinet login".into(),
            vec![
                Para(format!("At your request the lessor checked your identity and moved your cabinet sign-in to this address: {login}. The password is the same; every session was ended.")),
                Para("If you did not ask for this, tell your manager at once.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// The owner reported the account compromised: it is blocked, the lessor will help.
pub fn account_compromised(l: Locale, site: &Site) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "account_compromised",
            l,
            "Вход в личный кабинет заблокирован по вашему сообщению".into(),
            vec![
                Para("Вы сообщили, что доступ к вашему личному кабинету получил посторонний. Вход заблокирован, все сеансы завершены, лизинговая компания получила заявку на восстановление доступа.".into()),
                Para("Менеджер свяжется с вами, проверит вашу личность и выдаст новый временный пароль; двухфакторная защита, если её подключил не вы, будет снята. Сообщите также своему банку и руководителю, если через кабинет могли видеть платёжные данные.".into()),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "account_compromised",
            l,
            "Your cabinet sign-in is blocked at your report".into(),
            vec![
                Para("You reported that somebody else got into your cabinet. The sign-in is blocked, every session was ended, and the lessor received a request to restore your access.".into()),
                Para("A manager will contact you, check your identity and issue a new temporary password; two-factor sign-in somebody else enrolled is removed. Tell your bank and your director too if payment details may have been seen.".into()),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// Two-factor sign-in was turned on (`on`) or off.
pub fn totp_changed(l: Locale, site: &Site, on: bool) -> Letter {
    use Block::*;
    let (subject, text) = match (l, on) {
        (Locale::Ru, true) => (
            "Включён вход с кодом из приложения",
            "Для вашего входа в личный кабинет включена двухфакторная защита: кроме пароля кабинет будет спрашивать код из приложения-аутентификатора. Храните коды восстановления отдельно от телефона.",
        ),
        (Locale::Ru, false) => (
            "Выключен вход с кодом из приложения",
            "Для вашего входа в личный кабинет выключена двухфакторная защита: кабинет больше не спрашивает код из приложения.",
        ),
        (Locale::En, true) => (
            "Two-factor sign-in is on",
            "Two-factor sign-in is on for your cabinet login: besides the password, the cabinet will ask for the code from your authenticator app. Keep the recovery codes apart from the phone.",
        ),
        (Locale::En, false) => (
            "Two-factor sign-in is off",
            "Two-factor sign-in is off for your cabinet login: the cabinet no longer asks for an app's code.",
        ),
    };
    let warning = match l {
        Locale::Ru => {
            "Если это сделали не вы, немедленно смените пароль и сообщите своему менеджеру."
        }
        Locale::En => "If it was not you, change your password at once and tell your manager.",
    };
    render(
        "totp_changed",
        l,
        subject.into(),
        vec![
            Para(text.into()),
            Para(warning.into()),
            Link(site.url.clone()),
        ],
    )
}

/// A role's name in a mail.
pub fn role_name(l: Locale, role: domain::company::CompanyRole) -> &'static str {
    use domain::company::CompanyRole::*;
    match (l, role) {
        (Locale::Ru, Director) => "руководитель (право подписи)",
        (Locale::Ru, Accountant) => "бухгалтер",
        (Locale::Ru, Viewer) => "только просмотр",
        (Locale::En, Director) => "director (signing authority)",
        (Locale::En, Accountant) => "accountant",
        (Locale::En, Viewer) => "viewer (read only)",
    }
}

/// A company's director (or the lessor's staff) invites a colleague: the control string, valid until
/// `expires`.
pub fn invitation(
    l: Locale,
    site: &Site,
    company: &str,
    role: domain::company::CompanyRole,
    control: &str,
    expires: DateTime<Utc>,
) -> Letter {
    use Block::*;
    let role = role_name(l, role);
    match l {
        Locale::Ru => render(
            "invitation",
            l,
            format!("{company}: приглашение в личный кабинет лизингополучателя"),
            vec![
                Para(format!(
                    "Вас пригласили работать в личном кабинете лизингополучателя от имени компании {company}. Роль: {role}. Контрольная строка приглашения:"
                )),
                Code(control.into()),
                Para(format!(
                    "Введите её в кабинете («Принять приглашение») до {}. Если у вас ещё нет входа, после принятия на этот адрес придёт временный пароль.",
                    when(expires)
                )),
                Link(site.url.clone()),
                Para("Если вы не ждали приглашения, просто не отвечайте: без контрольной строки ничего не произойдёт.".into()),
            ],
        ),
        Locale::En => render(
            "invitation",
            l,
            format!("{company}: an invitation to the lessee cabinet"),
            vec![
                Para(format!(
                    "You are invited to work in the lessee cabinet for {company}. Role: {role}. The invitation's control string:"
                )),
                Code(control.into()),
                Para(format!(
                    "Enter it in the cabinet (\"Accept an invitation\") before {}. If you have no sign-in yet, a temporary password comes to this address once you accept.",
                    when(expires)
                )),
                Link(site.url.clone()),
                Para("If you did not expect this, ignore it: nothing happens without the control string.".into()),
            ],
        ),
    }
}

/// An administrator invites a person to the lessor's staff: the control string, valid until `expires`.
pub fn staff_invitation(
    l: Locale,
    site: &Site,
    role: &str,
    control: &str,
    expires: DateTime<Utc>,
) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "staff_invitation",
            l,
            "Приглашение в кабинет лизинговой компании (сотрудник)".into(),
            vec![
                Para(format!("Вас пригласили работать в кабинете лизинговой компании как сотрудника, роль {role}. Контрольная строка приглашения:")),
                Code(control.into()),
                Para(format!("Введите её в кабинете до {}; после принятия на этот адрес придёт временный пароль. Администратору при первом входе нужно подключить приложение-аутентификатор.", when(expires))),
                Link(site.url.clone()),
            ],
        ),
        Locale::En => render(
            "staff_invitation",
            l,
            "An invitation to the lessor's cabinet (staff)".into(),
            vec![
                Para(format!("You are invited to work in the lessor's cabinet as staff, role {role}. The invitation's control string:")),
                Code(control.into()),
                Para(format!("Enter it in the cabinet before {}; a temporary password comes to this address once you accept. An administrator enrols an authenticator app at the first sign-in.", when(expires))),
                Link(site.url.clone()),
            ],
        ),
    }
}

/// An open invitation was withdrawn.
pub fn invitation_revoked(l: Locale, company: &str) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "invitation_revoked",
            l,
            format!("{company}: приглашение отозвано"),
            vec![Para(format!(
                "Приглашение работать в личном кабинете от имени компании {company} отозвано; его контрольная строка больше не действует."
            ))],
        ),
        Locale::En => render(
            "invitation_revoked",
            l,
            format!("{company}: the invitation was withdrawn"),
            vec![Para(format!(
                "The invitation to work in the cabinet for {company} was withdrawn; its control string no longer works."
            ))],
        ),
    }
}

/// A person's role in a company changed (or the person joined it through an invitation, `from` None).
pub fn company_role_changed(
    l: Locale,
    site: &Site,
    company: &str,
    from: Option<domain::company::CompanyRole>,
    to: domain::company::CompanyRole,
) -> Letter {
    use Block::*;
    let to = role_name(l, to);
    let text = match (l, from) {
        (Locale::Ru, Some(from)) => format!(
            "Ваша роль в компании {company} изменена: было «{}», стало «{to}».",
            role_name(l, from)
        ),
        (Locale::Ru, None) => format!(
            "Компания {company} добавлена в ваш личный кабинет. Ваша роль: {to}. Войдите с прежним логином и паролем и выберите её в списке компаний."
        ),
        (Locale::En, Some(from)) => format!(
            "Your role in {company} changed from \"{}\" to \"{to}\".",
            role_name(l, from)
        ),
        (Locale::En, None) => format!(
            "{company} was added to your cabinet with the role: {to}. Sign in as before and choose it in your list of companies."
        ),
    };
    let subject = match l {
        Locale::Ru => format!("{company}: ваша роль в личном кабинете"),
        Locale::En => format!("{company}: your role in the cabinet"),
    };
    render(
        "company_role_changed",
        l,
        subject,
        vec![Para(text), Link(site.url.clone())],
    )
}

/// A person was removed from a company's people.
pub fn removed_from_company(l: Locale, company: &str) -> Letter {
    use Block::*;
    match l {
        Locale::Ru => render(
            "removed_from_company",
            l,
            format!("{company}: доступ закрыт"),
            vec![Para(format!(
                "Вы больше не работаете в личном кабинете от имени компании {company}: её договоры, документы и заявки вам больше не видны. Если это ошибка, обратитесь к руководителю компании."
            ))],
        ),
        Locale::En => render(
            "removed_from_company",
            l,
            format!("{company}: access ended"),
            vec![Para(format!(
                "You no longer work in the cabinet for {company}: its contracts, documents and requests are no longer shown to you. If this is a mistake, ask the company's director."
            ))],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_html_say_the_same_and_html_escapes_values() {
        let site = Site {
            url: "https://lk.example.ru".into(),
        };
        let at = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let l = temporary_password(
            Locale::Ru,
            &site,
            "ООО <Ромашка> & Ко",
            "a@b.ru",
            "Pw3xyzABCDEFGH",
            at,
        );
        assert!(l.text.contains("Pw3xyzABCDEFGH"));
        assert!(l.text.contains("01.03.2026 12:00 (МСК)"));
        assert!(l.html.contains("ООО &lt;Ромашка&gt; &amp; Ко"));
        assert!(!l.html.contains("<Ромашка>"));
        assert!(l.html.contains("<b>Pw3xyzABCDEFGH</b>"));
        let en = temporary_password(Locale::En, &site, "X", "a@b.ru", "p", at);
        assert_eq!(en.subject, "Your lessee cabinet account");
        assert_eq!(en.template, l.template);
    }

    #[test]
    fn masked_addresses_keep_the_domain() {
        assert_eq!(mask_email("ivan.petrov@romashka.ru"), "iv***@romashka.ru");
        assert_eq!(mask_email("i@x.ru"), "i***@x.ru");
    }
}
