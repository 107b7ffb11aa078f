# Least privilege: one service account per function, one for the trigger, one for
# the build. No basic roles (owner/editor/viewer), no project-wide storage admin,
# and no allUsers on any function.
#
#   collector  Firestore user, metric writer, accessor of its own secrets (secrets.tf)
#   renderer   Firestore user, object admin on the site bucket only (bucket binding)
#   trigger    may invoke the two functions' Cloud Run services, nothing else
#   builder    builds the functions from the source archive (Cloud Build)

resource "google_service_account" "collector" {
  project      = var.project_id
  account_id   = "${local.prefix}-collector"
  display_name = "tally collect function"
  description  = "Runs the collect function: fetches sources, writes samples and metrics."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "renderer" {
  project      = var.project_id
  account_id   = "${local.prefix}-renderer"
  display_name = "tally render function"
  description  = "Runs the render function: reads samples, writes the public site."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${local.prefix}-trigger"
  display_name = "tally Pub/Sub trigger"
  description  = "Identity Eventarc uses to deliver the scheduler's Pub/Sub messages to the two functions."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "builder" {
  project      = var.project_id
  account_id   = "${local.prefix}-builder"
  display_name = "tally function builds"
  description  = "Cloud Build identity for building the two functions."
  depends_on   = [google_project_service.apis]
}

# --- collector ---------------------------------------------------------------------

resource "google_project_iam_member" "collector_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.collector.email}"
}

resource "google_project_iam_member" "collector_metrics" {
  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = "serviceAccount:${google_service_account.collector.email}"
}

# --- renderer ----------------------------------------------------------------------

resource "google_project_iam_member" "renderer_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.renderer.email}"
}

resource "google_storage_bucket_iam_member" "renderer_site" {
  bucket = google_storage_bucket.site.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.renderer.email}"
}

# --- trigger: invoke the two services, nothing else ---------------------------------

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_collect" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.collect.name # a 2nd-gen function runs as the Cloud Run service of its name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_render" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.render.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# --- builder -------------------------------------------------------------------------

resource "google_project_iam_member" "builder" {
  for_each = toset([
    "roles/logging.logWriter",       # build logs
    "roles/artifactregistry.writer", # push the function images
    "roles/storage.objectViewer",    # read the source archive Cloud Functions stages
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.builder.email}"
}
