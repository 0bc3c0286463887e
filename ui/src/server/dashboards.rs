//! Saved dashboards: one JSON file per dashboard in `<data_dir>/dashboards/<id>.json`
//! (the export format, see [`crate::dashboard`]). Writes go to a temporary file that is
//! fsynced and renamed over the old one, so a crash leaves either version, never half of
//! one. Writers are serialised by one lock; the built-in dashboard lives in code and is
//! read-only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Mutex;

use super::error::{Error, Result};
use crate::dashboard::{
    Dashboard, DashboardSummary, FORMAT_VERSION, PanelKind, PanelQuery, SERVICE_HEALTH_ID,
    service_health,
};

const MAX_PANELS: usize = 64;
const MAX_TITLE: usize = 200;
const MAX_SQL: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct DashboardStore {
    dir: PathBuf,
    write: Arc<Mutex<()>>,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a dashboard from a user before it is stored.
pub fn validate(d: &Dashboard) -> Result<()> {
    let bad = |m: String| Err(Error::BadRequest(m));
    if d.version > FORMAT_VERSION {
        return bad(format!(
            "dashboard format version {} is newer than this server's ({FORMAT_VERSION})",
            d.version
        ));
    }
    if d.title.trim().is_empty() || d.title.len() > MAX_TITLE {
        return bad(format!("title must be 1 to {MAX_TITLE} characters"));
    }
    if d.panels.len() > MAX_PANELS {
        return bad(format!("at most {MAX_PANELS} panels"));
    }
    for v in &d.variables {
        if v.name.is_empty()
            || v.name.starts_with("__")
            || !v
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(format!(
                "variable name {:?}: use letters, digits and _ (not starting with __)",
                v.name
            ));
        }
    }
    for (i, p) in d.panels.iter().enumerate() {
        match &p.query {
            PanelQuery::Sql { sql } if sql.trim().is_empty() || sql.len() > MAX_SQL => {
                return bad(format!("panel {}: SQL must be 1 to {MAX_SQL} bytes", i + 1));
            }
            PanelQuery::Builtin { name, .. }
                if !crate::dashboard::BUILTINS.contains(&name.as_str()) =>
            {
                return bad(format!(
                    "panel {}: unknown built-in query {name:?} (one of {:?})",
                    i + 1,
                    crate::dashboard::BUILTINS
                ));
            }
            PanelQuery::Builtin { name, .. }
                if name != "services"
                    && p.kind != PanelKind::TimeSeries
                    && p.kind != PanelKind::Table =>
            {
                return bad(format!(
                    "panel {}: built-in {name:?} is a time series or a table",
                    i + 1
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

impl DashboardStore {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            write: Arc::new(Mutex::new(())),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The built-in dashboard first, then saved ones by title.
    pub async fn list(&self) -> Result<Vec<DashboardSummary>> {
        let summary = |d: &Dashboard| DashboardSummary {
            id: d.id.clone(),
            title: d.title.clone(),
            panels: d.panels.len(),
            builtin: d.builtin,
        };
        let mut saved = Vec::new();
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(e) => Some(e),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io("reading", &self.dir)(e)),
        };
        while let Some(entries) = entries.as_mut() {
            let Some(entry) = entries
                .next_entry()
                .await
                .map_err(io("reading", &self.dir))?
            else {
                break;
            };
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .filter(|id| valid_id(id))
            else {
                continue;
            };
            match self.get(id).await {
                Ok(d) => saved.push(summary(&d)),
                Err(error) => tracing::warn!(%error, "skipping unreadable dashboard"),
            }
        }
        saved.sort_by_key(|a| a.title.to_lowercase());
        let mut out = vec![summary(&service_health())];
        out.extend(saved);
        Ok(out)
    }

    pub async fn get(&self, id: &str) -> Result<Dashboard> {
        if id == SERVICE_HEALTH_ID {
            return Ok(service_health());
        }
        if !valid_id(id) {
            return Err(Error::NotFound(format!("dashboard {id:?} not found")));
        }
        let path = self.path(id);
        let text = match tokio::fs::read(&path).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!("dashboard {id:?} not found")));
            }
            Err(e) => return Err(io("reading", &path)(e)),
        };
        let mut d: Dashboard = serde_json::from_slice(&text).map_err(|e| {
            Error::BadRequest(format!("dashboard file {} is invalid: {e}", path.display()))
        })?;
        d.id = id.to_string();
        d.builtin = false;
        Ok(d)
    }

    /// Stores `d` under its id, or under a new one if it has none (or is a copy of the
    /// built-in). Returns the id.
    pub async fn save(&self, mut d: Dashboard) -> Result<String> {
        validate(&d)?;
        if d.id.is_empty() || d.id == SERVICE_HEALTH_ID || d.builtin {
            d.id = ulid::Ulid::new().to_string().to_ascii_lowercase();
        } else if !valid_id(&d.id) {
            return Err(Error::BadRequest(format!(
                "dashboard id {:?}: use a-z, 0-9 and -",
                d.id
            )));
        }
        d.builtin = false;
        d.version = FORMAT_VERSION;
        let json = serde_json::to_vec_pretty(&d)
            .map_err(|e| Error::BadRequest(format!("encoding dashboard: {e}")))?;
        let _guard = self.write.lock().await;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(io("creating", &self.dir))?;
        let path = self.path(&d.id);
        let tmp = self.dir.join(format!(".{}.json.tmp", d.id));
        let written = {
            let tmp = tmp.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&json)?;
                f.sync_all()
            })
            .await
            .map_err(|e| Error::BadRequest(format!("writing dashboard: {e}")))?
        };
        written.map_err(io("writing", &tmp))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(io("renaming", &path))?;
        Ok(d.id)
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        if id == SERVICE_HEALTH_ID {
            return Err(Error::BadRequest(
                "the built-in dashboard cannot be deleted".into(),
            ));
        }
        if !valid_id(id) {
            return Err(Error::NotFound(format!("dashboard {id:?} not found")));
        }
        let _guard = self.write.lock().await;
        let path = self.path(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::NotFound(format!("dashboard {id:?} not found")))
            }
            Err(e) => Err(io("removing", &path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::Panel;

    #[tokio::test]
    async fn save_get_list_delete_round_trip_on_disk() {
        let dir = std::env::temp_dir().join(format!("headroom-dash-{}", ulid::Ulid::new()));
        let store = DashboardStore::new(dir.clone());
        let mut d = Dashboard {
            title: "Checkout".into(),
            panels: vec![Panel::default()],
            ..Dashboard::default()
        };
        let id = store.save(d.clone()).await.expect("save");
        d.id = id.clone();
        assert_eq!(store.get(&id).await.expect("get"), d);
        // A new store over the same directory (a restart) sees it.
        let again = DashboardStore::new(dir.clone());
        let list = again.list().await.expect("list");
        assert_eq!(list[0].id, SERVICE_HEALTH_ID);
        assert_eq!(list[1].title, "Checkout");
        // Saving the built-in makes a copy.
        let copy = again.save(service_health()).await.expect("copy");
        assert_ne!(copy, SERVICE_HEALTH_ID);
        assert!(again.delete(SERVICE_HEALTH_ID).await.is_err());
        again.delete(&id).await.expect("delete");
        assert!(matches!(again.get(&id).await, Err(Error::NotFound(_))));
        let bad = Dashboard {
            title: " ".into(),
            ..Dashboard::default()
        };
        assert!(matches!(again.save(bad).await, Err(Error::BadRequest(_))));
        let _ = std::fs::remove_dir_all(dir);
    }
}
