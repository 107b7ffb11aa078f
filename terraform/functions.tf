# The two 2nd-gen functions, built from the same archive of functions/. Each has its
# own service account and its own Pub/Sub trigger with retries on: the code
# acknowledges and drops events older than `stale_event_after`, so retries end.
#
# Their environment (main.tf: collect_env, render_env) is a few short values; tally.yaml
# itself is the object storage.tf uploads, named in TALLY_CONFIG_OBJECT. Before either
# function is created: the IAM bindings its build, its trigger and its first tick rely
# on, and a minute for them to propagate (time_sleep.iam_propagation, iam.tf); the
# config object; the metric descriptors (the first tick writes metrics); the database
# and the collection-group index of `days.written` that the renderer's change query
# needs (a first tick or render before them would fail and be retried with a 5xx).

locals {
  builder_sa = "projects/${var.project_id}/serviceAccounts/${google_service_account.builder.email}"
}

resource "google_cloudfunctions2_function" "collect" {
  project     = var.project_id
  location    = var.region
  name        = "${local.prefix}-collect"
  description = "tally: collect the sources due at each tick (main.collect)."

  build_config {
    runtime         = "python311"
    entry_point     = "collect"
    service_account = local.builder_sa
    source {
      storage_source {
        bucket = google_storage_bucket.functions.name
        object = google_storage_bucket_object.functions.name
      }
    }
  }

  service_config {
    available_memory                 = var.collect_memory
    timeout_seconds                  = 300 # source timeouts are <= 120 s, fetched concurrently
    min_instance_count               = 0
    max_instance_count               = var.collect_max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY" # Eventarc's push is internal
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.collector.email
    environment_variables            = local.collect_env

    # Secrets of sources and of `notify:` channels (the collector sends notifications).
    dynamic "secret_environment_variables" {
      for_each = toset(local.bound_secrets)
      content {
        key        = secret_environment_variables.value
        project_id = var.project_id
        secret     = google_secret_manager_secret.env[secret_environment_variables.value].secret_id
        version    = "latest"
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.collect.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [
    time_sleep.iam_propagation,
    google_storage_bucket_object.config,
    google_monitoring_metric_descriptor.tally,
    google_firestore_database.main,
    google_firestore_field.days_written,
    google_firestore_field.hours_written,
    google_firestore_index.hours_by_source,
    google_firestore_index.hours_by_source_newest_first,
  ]
}

resource "google_cloudfunctions2_function" "render" {
  project     = var.project_id
  location    = var.region
  name        = "${local.prefix}-render"
  description = "tally: redraw the public page (main.render)."

  build_config {
    runtime         = "python311"
    entry_point     = "render"
    service_account = local.builder_sa
    source {
      storage_source {
        bucket = google_storage_bucket.functions.name
        object = google_storage_bucket_object.functions.name
      }
    }
  }

  service_config {
    available_memory                 = var.render_memory # pandas + matplotlib
    timeout_seconds                  = 300
    min_instance_count               = 0
    max_instance_count               = var.render_max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.renderer.email
    environment_variables            = local.render_env
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.render.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [
    time_sleep.iam_propagation,
    google_storage_bucket_object.config,
    google_monitoring_metric_descriptor.tally,
    google_firestore_database.main,
    google_firestore_field.days_written,
    google_firestore_field.hours_written,
    google_firestore_index.hours_by_source,
    google_firestore_index.hours_by_source_newest_first,
  ]
}
