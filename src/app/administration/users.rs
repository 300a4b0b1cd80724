//! People: console users who sign in with an e-mail and a password.
//!
//! A user is an API client (its role, organization, token scope and
//! revocation are the client's) whose secret nobody knows; the password is
//! the way to its tokens. Admins create users anywhere; a user who manages
//! users creates them in its own organization, never admins.

use rand::Rng;

use super::organizations::{by_code, own};
use super::stored_now;
use crate::app::{Actor, Error};
use crate::domain::FieldError;
use crate::auth::hash_secret;
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{fields, Role};
use crate::store;
use crate::store::clients::NewApiClient;
use crate::store::users::{Account, NewUser};

/// The fewest characters a password may have. Length, not composition
/// rules, is what NIST SP 800-63B asks for.
pub const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_CHARS: usize = 200;

/// Stored as a user's client secret hash: not a PHC string, so no secret
/// ever matches it and the client-credentials grant is closed to users.
const NO_CLIENT_SECRET: &str = "!user";

/// A person to create.
pub struct CreateUser {
    /// Organization code; a user manager may leave it out (its own).
    pub organization: Option<String>,
    pub email: String,
    /// The person's name, as logs and lists show it.
    pub name: String,
    pub role: Role,
    /// May create users of its own organization.
    pub manages_users: bool,
    /// The first password; one is generated (and shown once) when left out.
    pub password: Option<String>,
}

/// A created user, and the generated password when none was given.
pub struct IssuedUser {
    pub account: Account,
    pub generated_password: Option<String>,
}

/// Lower-cased: people type their address with capitals one day and without the next.
pub fn login_email(input: &str) -> Result<String, String> {
    fields::email(input).map(|email| email.to_lowercase())
}

/// Refuses a password that is too short, too long, or the e-mail itself.
pub fn check_password(password: &str, email: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("must not be the e-mail address".into());
    }
    Ok(())
}

/// Twelve letters and digits in groups of four, without look-alikes (0/O, 1/l/I),
/// so it can be read out over the phone: `k7dm-p3qx-8hwn`.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let letters: Vec<char> = (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    letters.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// Creates a user: a client of the organization plus its sign-in.
pub fn create_user(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: CreateUser) -> Result<IssuedUser, Error> {
    let mut errors = Vec::new();
    let email = login_email(&command.email).map_err(|reason| errors.push(("email", reason))).ok();
    let name = fields::text(&command.name, 200).map_err(|reason| errors.push(("name", reason))).ok();
    if let Some(password) = &command.password {
        if let Err(reason) = check_password(password, email.as_deref().unwrap_or(&command.email)) {
            errors.push(("password", reason));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors.into_iter().map(|(field, reason)| FieldError::new(field, reason)).collect()));
    }
    let (email, name) = (email.unwrap_or_default(), name.unwrap_or_default());
    let org = if actor.role == Role::Admin {
        match &command.organization {
            Some(code) => by_code(conn, "organization", code)?,
            None => return Err(Error::field("organization", "is required")),
        }
    } else {
        let manages = store::users::find_by_client(conn, &actor.client_id)?.is_some_and(|(user, _, _)| user.manages_users);
        if !manages {
            return Err(Error::Forbidden("only admins and users who manage users may create users".into()));
        }
        let org = own(conn, actor)?;
        if command.organization.as_deref().is_some_and(|code| !code.trim().eq_ignore_ascii_case(&org.code)) {
            return Err(Error::Forbidden("you may create users of your own organization only".into()));
        }
        if command.role == Role::Admin {
            return Err(Error::Forbidden("only admins may create admins".into()));
        }
        org
    };
    if let Some(kind) = command.role.required_org_kind() {
        if org.kind != kind {
            return Err(Error::field("role", format!("role {} needs a {kind} organization; {} is a {}", command.role, org.code, org.kind)));
        }
    }
    let (password, generated_password) = match command.password {
        Some(password) => (password, None),
        None => {
            let generated = generate_password();
            (generated.clone(), Some(generated))
        }
    };
    // Hashed before the transaction: argon2 takes tens of milliseconds.
    let password_hash = hash_secret(&password);
    let client_id = uuid::Uuid::new_v4().to_string();
    let at = stored_now(clock);
    let account = conn.write_transaction(|conn| {
        if store::users::email_taken(conn, &email)? {
            return Err(Error::Conflict { detail: format!("a user with the e-mail {email} already exists"), existing_id: None });
        }
        let client = NewApiClient {
            id: &client_id,
            organization_id: &org.id,
            name: &name,
            role: command.role,
            secret_hash: NO_CLIENT_SECRET,
            created_at: at,
        };
        store::clients::create(conn, &client)?;
        let user = NewUser {
            client_id: &client_id,
            email: &email,
            password_hash: &password_hash,
            manages_users: command.manages_users,
            created_by: &actor.client_id,
            created_at: at,
        };
        store::users::create(conn, &user)?;
        store::users::find_by_client(conn, &client_id)?.ok_or_else(|| Error::Internal("the user just created is gone".into()))
    })?;
    Ok(IssuedUser { account, generated_password })
}

/// The account behind a sign-in e-mail, when its client is active. The
/// caller checks the password (on the verifier threads) and issues the token.
pub fn find_for_login(conn: &mut DbConn, email: &str) -> Result<Option<Account>, Error> {
    Ok(store::users::find_active_by_email(conn, email)?)
}

/// The signed-in person; `None` for API clients that are not people.
pub fn me(conn: &mut DbConn, actor: &Actor) -> Result<Option<Account>, Error> {
    Ok(store::users::find_by_client(conn, &actor.client_id)?)
}

/// Sets a new password (the current one already checked by the caller) and
/// ends every token issued before.
pub fn change_password(conn: &mut DbConn, actor: &Actor, new_password: &str) -> Result<Account, Error> {
    let (user, _, _) = me(conn, actor)?.ok_or_else(|| Error::Forbidden("only people who sign in with a password have one".into()))?;
    check_password(new_password, &user.email).map_err(|reason| Error::field("new_password", reason))?;
    let hash = hash_secret(new_password);
    conn.write_transaction(|conn| {
        store::users::set_password(conn, &actor.client_id, &hash)?;
        store::users::find_by_client(conn, &actor.client_id)?.ok_or_else(|| Error::Internal("the user is gone".into()))
    })
}

/// Users an admin may see (all, or one organization's by code), or a user
/// manager (its organization's), ordered by e-mail.
pub fn list_users(conn: &mut DbConn, actor: &Actor, organization: Option<&str>) -> Result<Vec<Account>, Error> {
    if actor.role == Role::Admin {
        let org_id = match organization {
            Some(code) => Some(by_code(conn, "organization", code)?.id),
            None => None,
        };
        return Ok(store::users::list(conn, org_id.as_deref())?);
    }
    let manages = store::users::find_by_client(conn, &actor.client_id)?.is_some_and(|(user, _, _)| user.manages_users);
    if !manages {
        return Err(Error::Forbidden("only admins and users who manage users may list users".into()));
    }
    Ok(store::users::list(conn, Some(&actor.org_id))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_measured_in_characters() {
        assert!(check_password("ngắn", "a@b.vn").is_err());
        // Ten Vietnamese letters are 10 characters, more bytes.
        assert!(check_password("đường phố ", "a@b.vn").is_ok());
        assert!(check_password(&"x".repeat(201), "a@b.vn").is_err());
        assert!(check_password("Clerk@So.VN", "clerk@so.vn").is_err());
    }

    #[test]
    fn generated_passwords_are_grouped_and_long_enough() {
        let password = generate_password();
        assert_eq!(password.len(), 14);
        assert_eq!(password.split('-').count(), 3);
        assert!(check_password(&password, "a@b.vn").is_ok());
        assert!(!password.contains(['0', 'o', '1', 'l', 'i']));
    }

    #[test]
    fn login_emails_ignore_case() {
        assert_eq!(login_email(" Clerk@SoGD.Vn ").unwrap(), "clerk@sogd.vn");
        assert!(login_email("not an address").is_err());
    }
}
