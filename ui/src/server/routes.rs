//! JSON routes for dashboards, for scripts and export/import:
//! `GET /api/v1/dashboards`, `POST /api/v1/dashboards` (import: the body is an exported
//! dashboard; answers `{"id": …}`), `GET /api/v1/dashboards/{id}` (export) and
//! `DELETE /api/v1/dashboards/{id}`.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use super::UiState;
use super::error::{Error, Result};
use crate::dashboard::Dashboard;

pub(super) fn router(state: UiState) -> Router {
    Router::new()
        .route("/api/v1/dashboards", get(list).post(import))
        .route("/api/v1/dashboards/{id}", get(export).delete(delete))
        .with_state(state)
}

async fn list(State(s): State<UiState>) -> Result<impl IntoResponse> {
    Ok(Json(
        serde_json::json!({ "dashboards": s.dashboards.list().await? }),
    ))
}

async fn export(State(s): State<UiState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    let d = s.dashboards.get(&id).await?;
    let disposition = format!("attachment; filename=\"dashboard-{id}.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(d)))
}

async fn import(State(s): State<UiState>, body: axum::body::Bytes) -> Result<impl IntoResponse> {
    let mut d: Dashboard = serde_json::from_slice(&body)
        .map_err(|e| Error::BadRequest(format!("not a dashboard: {e}")))?;
    // An import is always a new dashboard: it never overwrites one by id.
    d.id.clear();
    let id = s.dashboards.save(d).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

async fn delete(State(s): State<UiState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    s.dashboards.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
