//! Administration: organizations, API clients, contact points, webhook
//! subscriptions and the timing rules. The admin API, the CLI's `org` and
//! `client` commands, the seed and the benchmark harness all go through here.

mod clients;
mod contacts;
mod organizations;
mod rules;
mod users;
mod webhooks;

pub use clients::{
    create_client, create_client_with, list_clients, revoke_client, rotate_client_secret, ChosenCredentials, ClientListing, ClientRecord,
    CreateClient, IssuedClient, RotatedClient,
};
pub use contacts::{add_contact, delete_contact, list_contacts, AddContact, OrgContact};
pub use organizations::{create_organization, find_organization, list_organizations, CreateOrganization};
pub use rules::{list_kind_priorities, list_rules, set_kind_priority, update_rule, RuleChange};
pub use users::{
    change_password, check_password, create_user, find_for_login, generate_password, list_users, login_email, me, CreateUser, IssuedUser,
    MIN_PASSWORD_CHARS,
};
pub use webhooks::{create_webhook, delete_webhook, list_webhooks, screen_webhook_url, webhook_deliveries, Subscribe};

use chrono::{DateTime, NaiveDateTime};

use super::Actor;
use crate::clock::Clock;
use crate::domain::Role;

impl Actor {
    /// The operator at the console (the CLI, the seed, the benchmark
    /// harness): an admin that belongs to no organization.
    pub fn operator(label: &str) -> Actor {
        Actor { client_id: label.to_string(), org_id: String::new(), role: Role::Admin, province: String::new(), reads_province: false }
    }
}

/// Now, as the database keeps times: UTC, microseconds (both backends keep µs,
/// so a value read back equals the one written).
fn stored_now(clock: &dyn Clock) -> NaiveDateTime {
    let at = clock.now();
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at).naive_utc()
}

/// Organization codes are matched upper-cased, as they are stored.
fn org_code(text: &str) -> String {
    text.trim().to_uppercase()
}
