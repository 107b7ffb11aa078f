# Exactly two Cloud Scheduler jobs, whatever the number of sources: the free tier
# holds three jobs per billing account. The collect function decides which sources
# are due at each tick from tally.yaml, so sources never add jobs.

resource "google_cloud_scheduler_job" "collect" {
  project     = var.project_id
  region      = var.region
  name        = "${local.prefix}-collect"
  description = "Every minute: collect the sources due at this tick."
  schedule    = "* * * * *"
  time_zone   = "Etc/UTC" # ticks are UTC minutes; crons of tally.yaml use its own timezone

  # A tick that did not get out is not worth a late retry: the next one comes in a
  # minute. The function side retries (Pub/Sub), bounded by stale_event_after.
  retry_config {
    retry_count = 0
  }

  pubsub_target {
    topic_name = google_pubsub_topic.collect.id
    data       = base64encode("collect")
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_cloud_scheduler_job" "render" {
  project     = var.project_id
  region      = var.region
  name        = "${local.prefix}-render"
  description = "Every ${local.render_every_text} (render_every of tally.yaml): redraw the public page."
  schedule    = local.render_schedule
  time_zone   = "Etc/UTC"

  retry_config {
    retry_count = 0
  }

  pubsub_target {
    topic_name = google_pubsub_topic.render.id
    data       = base64encode("render")
  }

  lifecycle {
    precondition {
      condition     = local.render_schedule != null
      error_message = "render_every in tally.yaml must be a number of minutes that divides an hour (1m, 2m, 5m, 10m, 15m, 30m) or of hours that divides a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)."
    }
  }

  depends_on = [time_sleep.apis_enabled]
}
