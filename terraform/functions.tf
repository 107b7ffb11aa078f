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
#
# Past one instance (docs/deploy.md): a tick or a render of more sources than its
# shard size is split into shards, each a message to the function's own topic handled
# on an instance of its own (one request an instance). The instance caps follow the
# sources (main.tf: collect_max_instances, render_max_instances), and a plan refuses a
# cap or a CPU that could not run them (the preconditions below).

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
    available_cpu                    = var.collect_cpu == "" ? null : var.collect_cpu
    timeout_seconds                  = 300 # source timeouts are <= 120 s, fetched concurrently
    min_instance_count               = 0
    max_instance_count               = local.collect_max_instances
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

  lifecycle {
    precondition {
      condition     = local.collect_max_instances >= local.collect_instances_needed
      error_message = "collect_max_instances is below what the sources of tally.yaml need to tick in parallel: one instance per shard of collect_shard_size sources plus one (the tick that publishes them). Raise it, or leave it unset (null) to derive it."
    }
    precondition {
      condition     = local.cpu_fits_memory["collect"]
      error_message = "collect_cpu does not fit collect_memory: Cloud Run needs at least 0.5 vCPU above 512Mi, 1 vCPU above 1Gi, and 2Gi for 4 vCPUs. Raise the CPU or lower the memory, or leave collect_cpu empty to derive it from the memory."
    }
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
    available_cpu                    = var.render_cpu == "" ? null : var.render_cpu
    timeout_seconds                  = 300
    min_instance_count               = 0
    max_instance_count               = local.render_max_instances
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

  lifecycle {
    precondition {
      condition     = local.render_max_instances >= local.render_instances_needed
      error_message = "render_max_instances is below what the sources of tally.yaml need to render in parallel: one instance per shard of render_shard_size sources plus one (the run that publishes the page after them). Raise it, or leave it unset (null) to derive it."
    }
    precondition {
      condition     = local.cpu_fits_memory["render"]
      error_message = "render_cpu does not fit render_memory: Cloud Run needs at least 0.5 vCPU above 512Mi, 1 vCPU above 1Gi, and 2Gi for 4 vCPUs. Raise the CPU or lower the memory, or leave render_cpu empty to derive it from the memory."
    }
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
