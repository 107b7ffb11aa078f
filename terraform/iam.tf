# Least privilege: one service account per function, one for the trigger, one for
# the build. No basic roles (owner/editor/viewer), no project-wide storage admin,
# and no allUsers on any function.
#
#   collector  Firestore user, metric writer, reader of the config object (storage.tf),
#              accessor of its own secrets (secrets.tf), publisher on the collect topic
#              only (its shards)
#   renderer   Firestore user, metric writer (its heartbeat), reader of the config
#              object, object admin on the site bucket only (bucket binding), publisher
#              on the render topic only (its shards)
#   trigger    may invoke the two functions' Cloud Run services, nothing else
#   builder    builds the functions from the source archive (Cloud Build)
#
# IAM is eventually consistent: a binding can take a minute or more to be honoured, and
# Google's own examples wait after granting. The functions wait for every binding they
# rely on through time_sleep.iam_propagation (at the end of this file).

resource "google_service_account" "collector" {
  project      = var.project_id
  account_id   = "${local.prefix}-collector"
  display_name = "tally collect function"
  description  = "Runs the collect function: fetches sources, writes samples and metrics, sends notifications."
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "renderer" {
  project      = var.project_id
  account_id   = "${local.prefix}-renderer"
  display_name = "tally render function"
  description  = "Runs the render function: reads samples, writes the public site."
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${local.prefix}-trigger"
  display_name = "tally Pub/Sub trigger"
  description  = "Identity Eventarc uses to deliver the scheduler's Pub/Sub messages to the two functions."
  depends_on   = [time_sleep.apis_enabled]
}

resource "google_service_account" "builder" {
  project      = var.project_id
  account_id   = "${local.prefix}-builder"
  display_name = "tally function builds"
  description  = "Cloud Build identity for building the two functions."
  depends_on   = [time_sleep.apis_enabled]
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

# A tick of more sources than collect_shard_size publishes its shards to the collect
# topic (TALLY_COLLECT_TOPIC): publishing there, and on no other topic.
resource "google_pubsub_topic_iam_member" "collector_publishes_shards" {
  project = var.project_id
  topic   = google_pubsub_topic.collect.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.collector.email}"
}

# --- renderer ----------------------------------------------------------------------

resource "google_project_iam_member" "renderer_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.renderer.email}"
}

# The render heartbeat (tally/renders), which the watchdog waits for.
resource "google_project_iam_member" "renderer_metrics" {
  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = "serviceAccount:${google_service_account.renderer.email}"
}

resource "google_storage_bucket_iam_member" "renderer_site" {
  bucket = google_storage_bucket.site.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.renderer.email}"
}

# A render of more sources than render_shard_size publishes its shards to the render
# topic (TALLY_RENDER_TOPIC): publishing there, and on no other topic.
resource "google_pubsub_topic_iam_member" "renderer_publishes_shards" {
  project = var.project_id
  topic   = google_pubsub_topic.render.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.renderer.email}"
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

# --- Eventarc's service agent --------------------------------------------------------
#
# A 2nd-gen function with a Pub/Sub trigger is refused on a project that never used
# Eventarc ("Permission denied while using the Eventarc Service Agent ... it may take a
# few minutes", hashicorp/terraform-provider-google issue 25294): the agent is created
# lazily and its role propagates after the trigger is validated. So it is created here,
# its role granted explicitly, and the functions wait (time_sleep.iam_propagation).

resource "google_project_service_identity" "eventarc" {
  provider   = google-beta
  project    = var.project_id
  service    = "eventarc.googleapis.com"
  depends_on = [time_sleep.apis_enabled]
}

resource "google_project_iam_member" "eventarc_agent" {
  #checkov:skip=CKV_GCP_49:The Google-managed Eventarc service agent's own role, which Google grants it at creation; bound here so the first trigger does not race that grant.
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = "serviceAccount:${google_project_service_identity.eventarc.email}"
}

# --- builder -------------------------------------------------------------------------
#
# The roles Google's documentation names for a build service account of Cloud Run
# functions, and its "cloudfunctions2 basic builder" example grants: Logs Writer,
# Artifact Registry Writer, Storage Object Admin. Logs and images are project-wide by
# nature (the image repository, gcf-artifacts, is created by the first build). Storage
# Object Admin is scoped: Cloud Functions stages the source in its own bucket
# (gcf-v2-sources-PROJECT_NUMBER-REGION, created at the first deploy, so it cannot be
# bound before), and the build reads it there; an IAM condition keeps the role to those
# buckets, never the site. Our archive bucket is readable, not writable.

resource "google_project_iam_member" "builder" {
  for_each = toset([
    "roles/logging.logWriter",       # build logs
    "roles/artifactregistry.writer", # push the function images
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_project_iam_member" "builder_staged_source" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = "serviceAccount:${google_service_account.builder.email}"

  condition {
    title       = "gcf-v2-sources buckets only"
    description = "The buckets where Cloud Functions stages function sources for the build."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}

resource "google_storage_bucket_iam_member" "builder_source" {
  bucket = google_storage_bucket.functions.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"
}

# --- waiting for IAM -----------------------------------------------------------------
#
# The functions depend on this, not on the bindings: it is created 60 s after the last
# binding a first deploy needs (the builder's, as in Google's example; Eventarc's agent;
# the runtime accounts', so that the first tick does not meet a permission error).
# Bindings added later (a new secret) are created long before their secret is bound.

resource "time_sleep" "iam_propagation" {
  create_duration = "60s"

  depends_on = [
    google_project_iam_member.eventarc_agent,
    google_project_iam_member.builder,
    google_project_iam_member.builder_staged_source,
    google_storage_bucket_iam_member.builder_source,
    google_project_iam_member.collector_firestore,
    google_project_iam_member.collector_metrics,
    google_project_iam_member.renderer_firestore,
    google_project_iam_member.renderer_metrics,
    google_storage_bucket_iam_member.renderer_site,
    google_pubsub_topic_iam_member.collector_publishes_shards,
    google_pubsub_topic_iam_member.renderer_publishes_shards,
    google_storage_bucket_iam_member.config_reader,
    google_secret_manager_secret_iam_member.collector,
  ]
}
