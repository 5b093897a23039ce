//! Who and where: the contact identity behind a provider user id and the
//! conversation behind a provider thread, created on first sight.
//!
//! Creation is insert-if-absent then select, never select-then-insert, so two
//! writers that meet a new thread at the same moment create one contact and
//! one conversation. Within a batch, everything found or created is cached,
//! and the batch's known identities and conversations are loaded up front in
//! one query each: in the steady state (customers already known) a batch
//! costs two selects, not two per event.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::rows::in_list;
use crate::pipeline::envelope::Normalized;
use crate::plugin::types::{EventBody, Participant, Thread, ThreadKind};
use crate::store::new_id;

/// Parameters per preload query (each value is one bound parameter).
const KEYS_PER_QUERY: usize = 500;

#[derive(Clone)]
struct Identity {
    id: String,
    contact_id: String,
    display_name: Option<String>,
    username: Option<String>,
}

/// The identities and conversations one batch has seen, by
/// (channel account, provider id).
#[derive(Default)]
pub(super) struct Threads {
    identities: HashMap<(String, String), Identity>,
    conversations: HashMap<(String, String), String>,
}

/// Where a new event's thread and people live, for the caller's bookkeeping.
pub(super) struct Context<'a> {
    pub channel_id: &'a str,
    pub workspace_id: &'a str,
    pub provider: &'a str,
    pub now: i64,
}

impl<'a> Context<'a> {
    pub fn of(event: &'a Normalized, now: i64) -> Self {
        Context {
            channel_id: &event.channel_id,
            workspace_id: &event.workspace_id,
            provider: &event.provider,
            now,
        }
    }
}

/// The identity key of a group or broadcast thread's own contact.
fn thread_contact_key(thread: &Thread) -> String {
    format!("thread:{}", thread.id)
}

impl Threads {
    /// Loads the identities and conversations the batch's messages name.
    pub async fn preload(
        conn: &mut AnyConnection,
        batch: &[Normalized],
    ) -> Result<Threads, sqlx::Error> {
        let mut people: HashMap<&str, Vec<String>> = HashMap::new();
        let mut threads: HashMap<&str, Vec<String>> = HashMap::new();
        for event in batch {
            let message = match &event.event.body {
                EventBody::Message(m) | EventBody::Echo(m) | EventBody::Edit(m) => m,
                _ => continue,
            };
            let channel = event.channel_id.as_str();
            let known_as = people.entry(channel).or_default();
            known_as.push(message.sender.id.clone());
            known_as.extend(message.sender.alternate_ids.iter().cloned());
            let thread = &message.thread;
            if thread.kind == ThreadKind::Direct {
                people.entry(channel).or_default().push(thread.id.clone());
            } else {
                people
                    .entry(channel)
                    .or_default()
                    .push(thread_contact_key(thread));
            }
            threads.entry(channel).or_default().push(thread.id.clone());
        }
        let mut loaded = Threads::default();
        for (channel, mut ids) in people {
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(KEYS_PER_QUERY) {
                let sql = format!(
                    "SELECT provider_user_id, id, contact_id, display_name, username FROM contact_identities
                     WHERE channel_account_id = $1 AND provider_user_id IN ({})",
                    in_list(2, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(channel);
                for id in chunk {
                    query = query.bind(id);
                }
                for row in query.fetch_all(&mut *conn).await? {
                    loaded.identities.insert(
                        (channel.to_string(), row.try_get(0)?),
                        Identity {
                            id: row.try_get(1)?,
                            contact_id: row.try_get(2)?,
                            display_name: row.try_get(3)?,
                            username: row.try_get(4)?,
                        },
                    );
                }
            }
        }
        for (channel, mut ids) in threads {
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(KEYS_PER_QUERY) {
                let sql = format!(
                    "SELECT provider_thread_id, id FROM conversations
                     WHERE channel_account_id = $1 AND provider_thread_id IN ({})",
                    in_list(2, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(channel);
                for id in chunk {
                    query = query.bind(id);
                }
                for row in query.fetch_all(&mut *conn).await? {
                    loaded
                        .conversations
                        .insert((channel.to_string(), row.try_get(0)?), row.try_get(1)?);
                }
            }
        }
        Ok(loaded)
    }

    /// The (identity id, contact id) behind a provider user id on this
    /// channel, created on first sight; a changed name or username is saved.
    pub async fn identity(
        &mut self,
        conn: &mut AnyConnection,
        cx: &Context<'_>,
        provider_user_id: &str,
        name: Option<&str>,
        username: Option<&str>,
    ) -> Result<(String, String), sqlx::Error> {
        let key = (cx.channel_id.to_string(), provider_user_id.to_string());
        if let Some(known) = self.identities.get_mut(&key) {
            let renamed = name.is_some_and(|n| known.display_name.as_deref() != Some(n));
            let new_username = username.is_some_and(|u| known.username.as_deref() != Some(u));
            if renamed || new_username {
                sqlx::query("UPDATE contact_identities SET display_name = COALESCE($1, display_name), username = COALESCE($2, username) WHERE id = $3")
                    .bind(name)
                    .bind(username)
                    .bind(&known.id)
                    .execute(&mut *conn)
                    .await?;
                if let Some(name) = name {
                    known.display_name = Some(name.to_string());
                }
                if let Some(username) = username {
                    known.username = Some(username.to_string());
                }
            }
            return Ok((known.id.clone(), known.contact_id.clone()));
        }
        let identity = create_identity(conn, cx, provider_user_id, name, username).await?;
        let ids = (identity.id.clone(), identity.contact_id.clone());
        self.identities.insert(key, identity);
        Ok(ids)
    }

    /// The identity of a message's sender. Other ids the provider knows the
    /// same person by (WhatsApp's business-scoped user id beside the phone
    /// number) become identities of the same contact.
    pub async fn sender(
        &mut self,
        conn: &mut AnyConnection,
        cx: &Context<'_>,
        sender: &Participant,
    ) -> Result<String, sqlx::Error> {
        let (identity_id, contact_id) = self
            .identity(
                conn,
                cx,
                &sender.id,
                sender.display_name.as_deref(),
                sender.username.as_deref(),
            )
            .await?;
        for alternate in sender.alternate_ids.iter().filter(|id| **id != sender.id) {
            let key = (cx.channel_id.to_string(), alternate.clone());
            if self.identities.contains_key(&key) {
                continue;
            }
            let id = new_id();
            sqlx::query(
                "INSERT INTO contact_identities (id, contact_id, channel_account_id, provider, provider_user_id, username, display_name)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel_account_id, provider_user_id) DO NOTHING",
            )
            .bind(&id)
            .bind(&contact_id)
            .bind(cx.channel_id)
            .bind(cx.provider)
            .bind(alternate)
            .bind(sender.username.as_deref())
            .bind(sender.display_name.as_deref())
            .execute(&mut *conn)
            .await?;
            // Whoever holds the id now, it is known for the rest of the batch.
            self.identities.insert(
                key,
                Identity {
                    id,
                    contact_id: contact_id.clone(),
                    display_name: sender.display_name.clone(),
                    username: sender.username.clone(),
                },
            );
        }
        Ok(identity_id)
    }

    /// The conversation of a provider thread. Its contact is the customer for
    /// a direct thread, the group itself otherwise.
    pub async fn conversation(
        &mut self,
        conn: &mut AnyConnection,
        cx: &Context<'_>,
        thread: &Thread,
        customer: Option<&Participant>,
    ) -> Result<String, sqlx::Error> {
        let key = (cx.channel_id.to_string(), thread.id.clone());
        if let Some(id) = self.conversations.get(&key) {
            return Ok(id.clone());
        }
        let (_, contact_id) = match thread.kind {
            // In a direct thread the inbound sender is the customer; an echo
            // opening a thread names only the thread, whose id is the customer's.
            ThreadKind::Direct => match customer {
                Some(customer) => {
                    let name = customer.display_name.as_deref().or(thread.title.as_deref());
                    self.identity(conn, cx, &customer.id, name, customer.username.as_deref())
                        .await?
                }
                None => {
                    self.identity(conn, cx, &thread.id, thread.title.as_deref(), None)
                        .await?
                }
            },
            ThreadKind::Group | ThreadKind::Broadcast => {
                self.identity(
                    conn,
                    cx,
                    &thread_contact_key(thread),
                    thread.title.as_deref(),
                    None,
                )
                .await?
            }
        };
        let kind = match thread.kind {
            ThreadKind::Direct => "direct",
            ThreadKind::Group => "group",
            ThreadKind::Broadcast => "broadcast",
        };
        sqlx::query(
            "INSERT INTO conversations (id, workspace_id, channel_account_id, contact_id, provider_thread_id, kind, title, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (channel_account_id, provider_thread_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(cx.workspace_id)
        .bind(cx.channel_id)
        .bind(&contact_id)
        .bind(&thread.id)
        .bind(kind)
        .bind(thread.title.as_deref())
        .bind(cx.now)
        .execute(&mut *conn)
        .await?;
        // Ours, or the one a concurrent writer inserted first.
        let id: String = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE channel_account_id = $1 AND provider_thread_id = $2",
        )
        .bind(cx.channel_id)
        .bind(&thread.id)
        .fetch_one(&mut *conn)
        .await?;
        self.conversations.insert(key, id.clone());
        Ok(id)
    }
}

/// Inserts a contact and its identity; when a concurrent writer created the
/// identity first, drops the new contact and returns theirs.
async fn create_identity(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    provider_user_id: &str,
    name: Option<&str>,
    username: Option<&str>,
) -> Result<Identity, sqlx::Error> {
    let contact_id = new_id();
    let identity_id = new_id();
    sqlx::query(
        "INSERT INTO contacts (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&contact_id)
    .bind(cx.workspace_id)
    .bind(name.or(username))
    .bind(cx.now)
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO contact_identities (id, contact_id, channel_account_id, provider, provider_user_id, username, display_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel_account_id, provider_user_id) DO NOTHING",
    )
    .bind(&identity_id)
    .bind(&contact_id)
    .bind(cx.channel_id)
    .bind(cx.provider)
    .bind(provider_user_id)
    .bind(username)
    .bind(name)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Identity {
            id: identity_id,
            contact_id,
            display_name: name.map(str::to_string),
            username: username.map(str::to_string),
        });
    }
    sqlx::query("DELETE FROM contacts WHERE id = $1")
        .bind(&contact_id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(
        "SELECT id, contact_id, display_name, username FROM contact_identities
         WHERE channel_account_id = $1 AND provider_user_id = $2",
    )
    .bind(cx.channel_id)
    .bind(provider_user_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Identity {
        id: row.try_get(0)?,
        contact_id: row.try_get(1)?,
        display_name: row.try_get(2)?,
        username: row.try_get(3)?,
    })
}
