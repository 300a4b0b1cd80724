//! Webhook subscriptions: carrier and department systems are told of
//! status changes and cases by signed POSTs.

use rand::RngCore;

use super::stored_now;
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::{DbConn, TextList};
use crate::domain::{FieldErrors, Role};
use crate::notify::egress::WebhookPolicy;
use crate::notify::TOPICS;
use crate::store;
use crate::store::outbox::{Message, Webhook};

const MAX_URL_CHARS: usize = 2000;
/// How much of a subscription's delivery log is shown.
const DELIVERY_LOG: i64 = 200;

/// A subscription for the actor's organization.
pub struct Subscribe {
    /// The URL as [`screen_webhook_url`] admitted it, or why it did not.
    pub url: Result<String, String>,
    /// Topics; empty: all.
    pub topics: Vec<String>,
}

/// Judges a subscription URL by the operator's egress policy. Kept apart
/// from [`create_webhook`] because it resolves the host name, which is I/O
/// that must not hold a database connection.
pub async fn screen_webhook_url(policy: &WebhookPolicy, url: &str) -> Result<String, String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    policy.admit(url).await.map(|admitted| admitted.to_string()).map_err(|refusal| refusal.to_string())
}

/// Subscribes the actor's organization; the returned subscription carries
/// the signing secret, to be shown this once.
pub fn create_webhook(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: Subscribe) -> Result<Webhook, Error> {
    let mut errors = FieldErrors::default();
    let url = errors.check("url", command.url);
    if let Some(bad) = command.topics.iter().find(|t| !TOPICS.contains(&t.as_str())) {
        errors.push("topics", format!("{bad} is not a topic; topics are {}", TOPICS.join(", ")));
    }
    let (Some(url), true) = (url, errors.is_empty()) else {
        return Err(Error::Invalid(errors.0));
    };
    let topics = if command.topics.is_empty() { TOPICS.iter().map(|t| t.to_string()).collect() } else { command.topics };
    let mut secret = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut secret);
    let hook = Webhook {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: actor.org_id.clone(),
        url,
        secret: format!("whsec_{}", hex::encode(secret)),
        topics: TextList::new(topics),
        created_at: stored_now(clock),
    };
    store::outbox::create_webhook(conn, &hook)?;
    Ok(hook)
}

/// The actor's organization's subscriptions.
pub fn list_webhooks(conn: &mut DbConn, actor: &Actor) -> Result<Vec<Webhook>, Error> {
    Ok(store::outbox::webhooks_of(conn, std::slice::from_ref(&actor.org_id))?)
}

/// A subscription of the actor's organization (admins: any).
fn own_hook(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<Webhook, Error> {
    store::outbox::find_webhook(conn, id)?
        .filter(|h| actor.role == Role::Admin || h.organization_id == actor.org_id)
        .ok_or_else(|| Error::NotFound(format!("no webhook {id} of your organization")))
}

/// Removes a subscription; messages not yet delivered to it are dropped.
pub fn delete_webhook(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<(), Error> {
    let hook = own_hook(conn, actor, id)?;
    store::outbox::delete_webhook(conn, &hook.id)?;
    Ok(())
}

/// The delivery log of a subscription, newest first.
pub fn webhook_deliveries(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<Vec<Message>, Error> {
    let hook = own_hook(conn, actor, id)?;
    Ok(store::outbox::deliveries(conn, &hook.id, DELIVERY_LOG)?)
}
