//! Our secret keys as they rotate: each one read at run time from a secret store (Secrets
//! Manager, deployed) in its `AWSCURRENT` and `AWSPREVIOUS` versions, or given in configuration
//! (`smv-local`, the tests), where it never changes.
//!
//! A function signs and tags with the current key and accepts what either version made, so a
//! rotation (a new `AWSCURRENT`, the old one becoming `AWSPREVIOUS`) breaks nothing in flight: a
//! callback URL, a return URL, a stored number hash or a device code made before it still
//! verifies after it. An execution environment reads the versions on their first use, again when
//! they are older than [`MAX_AGE`], and again when something fails to verify under both (another environment may
//! already sign with a newer key), at most once per [`MISS_INTERVAL`], so forged input cannot make
//! it hammer the secret store.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::time::Timestamp;

/// How long a read of the versions stands before a signing use reads them again.
pub const MAX_AGE: Duration = Duration::from_secs(300);
/// The least time between two reads caused by input that did not verify.
pub const MISS_INTERVAL: Duration = Duration::from_secs(30);

/// A key's versions: the one to sign with, and the one before it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRing<K> {
    pub current: K,
    pub previous: Option<K>,
}

impl<K> KeyRing<K> {
    /// Every version, current first.
    pub fn all(&self) -> impl Iterator<Item = &K> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

/// The raw versions of one secret, as the store holds them.
#[derive(Clone, PartialEq, Eq)]
pub struct Versions {
    pub current: String,
    pub previous: Option<String>,
}

impl fmt::Debug for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Versions(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret {id} could not be read")]
    Unavailable {
        id: String,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the secret {id} is not a usable key: {problem}")]
    Unusable { id: String, problem: String },
}

/// Where rotating secrets are read from.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The `AWSCURRENT` and (after a first rotation) `AWSPREVIOUS` versions of secret `id`.
    async fn versions(&self, id: &str) -> Result<Versions, SecretError>;
}

/// A key made from a secret's text.
pub trait FromSecret: Sized {
    fn from_secret(raw: &str) -> Result<Self, String>;
}

/// Where a function's key comes from, as its configuration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// In the configuration itself (`smv-local`, tests): one version, for ever.
    Given(GivenKey),
    /// The name or ARN of a secret in the secret store.
    Secret(String),
}

/// A key's text given in configuration. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct GivenKey(pub String);

impl fmt::Debug for GivenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GivenKey(<redacted>)")
    }
}

struct Loaded<K> {
    ring: Arc<KeyRing<K>>,
    read_at: Timestamp,
}

/// One key as it rotates.
pub struct Rotating<K> {
    /// `None`: given in configuration, never read.
    secret: Option<(Arc<dyn SecretSource>, String)>,
    /// `None` until the first use reads the secret: an execution environment's init makes no
    /// network call (measured: a read at init put every function's init far over the floor).
    loaded: RwLock<Option<Loaded<K>>>,
}

impl<K: FromSecret> Rotating<K> {
    /// `source`'s key: a given one parsed now, a secret read on first use.
    pub fn new(
        source: &KeySource,
        store: Option<&Arc<dyn SecretSource>>,
    ) -> Result<Self, SecretError> {
        match source {
            KeySource::Given(GivenKey(raw)) => {
                let key = K::from_secret(raw).map_err(|problem| SecretError::Unusable {
                    id: "(given in configuration)".into(),
                    problem,
                })?;
                Ok(Self::fixed(key))
            }
            KeySource::Secret(id) => {
                let store = store.ok_or_else(|| SecretError::Unavailable {
                    id: id.clone(),
                    cause: "no secret store is configured".into(),
                })?;
                Ok(Self {
                    secret: Some((store.clone(), id.clone())),
                    loaded: RwLock::new(None),
                })
            }
        }
    }

    /// A key that never changes.
    pub fn fixed(key: K) -> Self {
        Self {
            secret: None,
            loaded: RwLock::new(Some(Loaded {
                ring: Arc::new(KeyRing {
                    current: key,
                    previous: None,
                }),
                read_at: Timestamp::from_millis(0),
            })),
        }
    }

    /// The versions to sign or tag with: read on first use, and again when older than
    /// [`MAX_AGE`]. A store that cannot be read again leaves the last versions in use (they were
    /// right minutes ago); one that cannot be read the first time is an error.
    pub async fn current(&self, now: Timestamp) -> Result<Arc<KeyRing<K>>, SecretError> {
        let Some((ring, read_at)) = self.snapshot() else {
            return self.first_read(now).await;
        };
        if self.secret.is_some() && now >= read_at.plus(MAX_AGE) {
            self.reread(now).await;
            return Ok(self.snapshot().map_or(ring, |(ring, _)| ring));
        }
        Ok(ring)
    }

    /// Whether `check` holds for some version: the versions last read, then (when none passed,
    /// and the last read is older than [`MISS_INTERVAL`]) the versions read again, for input a
    /// newer key than this environment knows may have made.
    pub async fn accepts(
        &self,
        now: Timestamp,
        check: impl Fn(&K) -> bool,
    ) -> Result<bool, SecretError> {
        if self.current(now).await?.all().any(&check) {
            return Ok(true);
        }
        Ok(match self.reread_after_refusal(now).await {
            Some(ring) => ring.all().any(&check),
            None => false,
        })
    }

    /// After the current key was refused (a credential the other side no longer takes): the
    /// versions read again, unless they were read less than [`MISS_INTERVAL`] ago or cannot be.
    pub async fn reread_after_refusal(&self, now: Timestamp) -> Option<Arc<KeyRing<K>>> {
        let (_, read_at) = self.snapshot()?;
        if self.secret.is_none() || now < read_at.plus(MISS_INTERVAL) || !self.reread(now).await {
            return None;
        }
        self.snapshot().map(|(ring, _)| ring)
    }

    fn snapshot(&self) -> Option<(Arc<KeyRing<K>>, Timestamp)> {
        let loaded = self.loaded.read().expect("not poisoned");
        loaded.as_ref().map(|l| (l.ring.clone(), l.read_at))
    }

    async fn first_read(&self, now: Timestamp) -> Result<Arc<KeyRing<K>>, SecretError> {
        let (store, id) = self.secret.as_ref().expect("only a secret starts unread");
        let ring = Arc::new(read::<K>(store.as_ref(), id).await?);
        *self.loaded.write().expect("not poisoned") = Some(Loaded {
            ring: ring.clone(),
            read_at: now,
        });
        Ok(ring)
    }

    /// Reads the versions again; whether that worked.
    async fn reread(&self, now: Timestamp) -> bool {
        let Some((store, id)) = &self.secret else {
            return false;
        };
        let read = read::<K>(store.as_ref(), id).await;
        let mut loaded = self.loaded.write().expect("not poisoned");
        match (read, loaded.as_mut()) {
            (Ok(ring), _) => {
                *loaded = Some(Loaded {
                    ring: Arc::new(ring),
                    read_at: now,
                });
                true
            }
            (Err(e), last) => {
                // Tried: the next attempt waits as long as after a successful read.
                if let Some(last) = last {
                    last.read_at = now;
                }
                tracing::warn!(error = %crate::error::chain(&e), "a key could not be read again: the last versions stay in use");
                false
            }
        }
    }
}

async fn read<K: FromSecret>(
    store: &dyn SecretSource,
    id: &str,
) -> Result<KeyRing<K>, SecretError> {
    let versions = store.versions(id).await?;
    let parse = |raw: &str| {
        K::from_secret(raw).map_err(|problem| SecretError::Unusable {
            id: id.to_owned(),
            problem,
        })
    };
    Ok(KeyRing {
        current: parse(&versions.current)?,
        // A previous version that is not a usable key cannot have made anything we must accept.
        previous: versions.previous.as_deref().and_then(|raw| parse(raw).ok()),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Text(String);

    impl FromSecret for Text {
        fn from_secret(raw: &str) -> Result<Self, String> {
            match raw.is_empty() {
                true => Err("empty".into()),
                false => Ok(Self(raw.to_owned())),
            }
        }
    }

    #[derive(Default)]
    struct Store {
        versions: Mutex<Vec<String>>,
        reads: Mutex<u32>,
    }

    impl Store {
        fn rotate(&self, to: &str) {
            self.versions.lock().unwrap().push(to.to_owned());
        }
    }

    #[async_trait]
    impl SecretSource for Store {
        async fn versions(&self, _: &str) -> Result<Versions, SecretError> {
            *self.reads.lock().unwrap() += 1;
            let all = self.versions.lock().unwrap();
            let n = all.len();
            Ok(Versions {
                current: all[n - 1].clone(),
                previous: (n > 1).then(|| all[n - 2].clone()),
            })
        }
    }

    const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);

    fn at(secs: u64) -> Timestamp {
        T0.plus(Duration::from_secs(secs))
    }

    #[tokio::test]
    async fn a_rotation_is_seen_on_a_miss_or_when_stale_and_both_versions_verify() {
        let store = Arc::new(Store::default());
        store.rotate("k1");
        let source: Arc<dyn SecretSource> = store.clone();
        let key = Rotating::<Text>::new(&KeySource::Secret("s".into()), Some(&source)).unwrap();
        assert_eq!(
            *store.reads.lock().unwrap(),
            0,
            "nothing read before the first use"
        );
        assert_eq!(key.current(T0).await.unwrap().current.0, "k1");
        store.rotate("k2");
        // Another environment signs with k2 already: a miss reads again (not before 30 s).
        assert!(!key.accepts(at(10), |k| k.0 == "k2").await.unwrap());
        assert!(key.accepts(at(30), |k| k.0 == "k2").await.unwrap());
        let previous = key.accepts(at(31), |k| k.0 == "k1").await.unwrap();
        assert!(previous, "the previous version");
        assert_eq!(key.current(at(31)).await.unwrap().current.0, "k2");
        assert_eq!(*store.reads.lock().unwrap(), 2);
        store.rotate("k3");
        assert_eq!(key.current(at(329)).await.unwrap().current.0, "k2");
        let stale = key.current(at(330)).await.unwrap();
        assert_eq!(stale.current.0, "k3", "older than MAX_AGE");
    }

    #[tokio::test]
    async fn a_given_key_is_never_read_again() {
        let given = KeySource::Given(GivenKey("k".into()));
        let key = Rotating::<Text>::new(&given, None).unwrap();
        assert!(!key.accepts(at(1000), |k| k.0 == "other").await.unwrap());
        assert_eq!(key.current(at(1000)).await.unwrap().current.0, "k");
        assert_eq!(format!("{given:?}"), "Given(GivenKey(<redacted>))");
        let empty = KeySource::Given(GivenKey(String::new()));
        assert!(Rotating::<Text>::new(&empty, None).is_err());
    }
}
