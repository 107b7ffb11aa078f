# Cloud Monitoring: the custom metrics' descriptors, notification channels, alert
# policies and the dashboard. What depends on tally.yaml (per-source rules, widgets)
# is derived in main.tf.

# --- metric descriptors ---------------------------------------------------------------
# Declared up front so that the alert policies below can refer to them before the
# collector's first write (Monitoring rejects a filter on an unknown metric type).

locals {
  metrics = {
    value      = { value_type = "DOUBLE", unit = "1", description = "The value a source read (for http checks: the response time in ms)." }
    up         = { value_type = "INT64", unit = "1", description = "http checks: 1 when the check passed, 0 when it failed." }
    latency_ms = { value_type = "DOUBLE", unit = "ms", description = "http checks: response time." }
    ticks      = { value_type = "INT64", unit = "1", description = "Sources collected at a tick; written every tick, even 0 (the pipeline heartbeat)." }
  }
}

resource "google_monitoring_metric_descriptor" "tally" {
  for_each = local.metrics

  project      = var.project_id
  type         = "${local.metric_prefix}${each.key}"
  display_name = "tally ${each.key}"
  description  = each.value.description
  metric_kind  = "GAUGE"
  value_type   = each.value.value_type
  unit         = each.value.unit

  dynamic "labels" {
    for_each = each.key == "ticks" ? [] : ["source"]
    content {
      key         = labels.value
      value_type  = "STRING"
      description = "The source's id in tally.yaml."
    }
  }

  depends_on = [google_project_service.apis]
}

# --- notification channels (all optional) ------------------------------------------------

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.notification_emails)

  project      = var.project_id
  display_name = "tally: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_notification_channel" "webhook" {
  count = var.webhook_url == "" ? 0 : 1

  project      = var.project_id
  display_name = "tally: webhook"
  type         = "webhook_tokenauth"
  labels = {
    url = var.webhook_url
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_notification_channel" "slack" {
  count = var.slack_channel == "" ? 0 : 1

  project      = var.project_id
  display_name = "tally: Slack ${var.slack_channel}"
  type         = "slack"
  labels = {
    channel_name = var.slack_channel
  }
  sensitive_labels {
    auth_token = var.slack_token
  }

  lifecycle {
    precondition {
      condition     = var.slack_token != ""
      error_message = "slack_channel is set but slack_token is empty: Cloud Monitoring needs a Slack bot token to post."
    }
  }
  depends_on = [google_project_service.apis]
}

locals {
  notification_channels = concat(
    [for channel in google_monitoring_notification_channel.email : channel.id],
    google_monitoring_notification_channel.webhook[*].id,
    google_monitoring_notification_channel.slack[*].id,
  )
}

# --- pipeline: heartbeat and function errors -----------------------------------------

resource "google_monitoring_alert_policy" "heartbeat" {
  project               = var.project_id
  display_name          = "tally: pipeline heartbeat absent"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.notification_channels

  conditions {
    display_name = "no tally/ticks point for 10 minutes"
    condition_absent {
      filter   = "metric.type=\"${local.metric_prefix}ticks\" AND resource.type=\"global\""
      duration = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The collect function wrote no heartbeat for 10 minutes: the scheduler job `${google_cloud_scheduler_job.collect.name}`, the topic or the function `${google_cloudfunctions2_function.collect.name}` is not working. Check the function's logs."
  }

  depends_on = [google_monitoring_metric_descriptor.tally]
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = var.project_id
  display_name          = "tally: function errors"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  dynamic "conditions" {
    for_each = {
      collect = google_cloudfunctions2_function.collect.name
      render  = google_cloudfunctions2_function.render.name
    }
    content {
      display_name = "${conditions.key}: executions that failed (5xx) > 0"
      condition_threshold {
        filter          = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${conditions.value}\" AND metric.labels.response_code_class=\"5xx\""
        comparison      = "COMPARISON_GT"
        threshold_value = 0
        duration        = "0s"
        aggregations {
          alignment_period     = "300s"
          per_series_aligner   = "ALIGN_DELTA"
          cross_series_reducer = "REDUCE_SUM"
        }
        trigger {
          count = 1
        }
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A tally function raised (a failing source never does: this is infrastructure, e.g. Firestore unavailable). The platform retries the event; see the function's logs."
  }
}

# --- per source: staleness --------------------------------------------------------------

resource "google_monitoring_alert_policy" "stale" {
  for_each = local.staleness

  project               = var.project_id
  display_name          = "tally: ${local.sources[each.key].name} is stale"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels = {
    source = each.key
  }

  conditions {
    display_name = "no ${each.value.metric} of ${each.key} for ${each.value.seconds}s"

    dynamic "condition_absent" {
      for_each = each.value.seconds <= local.max_absence_s ? [each.value] : []
      content {
        filter   = "metric.type=\"${local.metric_prefix}${condition_absent.value.metric}\" AND resource.type=\"global\" AND metric.labels.source=\"${each.key}\""
        duration = "${condition_absent.value.seconds}s"
        aggregations {
          alignment_period   = "60s"
          per_series_aligner = "ALIGN_MAX"
        }
        trigger {
          count = 1
        }
      }
    }

    # Longer than a metric-absence condition can wait (23.5 h): PromQL.
    dynamic "condition_prometheus_query_language" {
      for_each = each.value.seconds > local.max_absence_s ? [each.value] : []
      content {
        query               = "absent_over_time(custom_googleapis_com:tally_${condition_prometheus_query_language.value.metric}{monitored_resource=\"global\",source=\"${each.key}\"}[${condition_prometheus_query_language.value.seconds}s])"
        duration            = "0s"
        evaluation_interval = "300s"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "No new sample of source `${each.key}` for ${each.value.seconds} s (its `alerts.stale_after`, or twice its period). Either it is failing (see the page's status and the collect function's logs) or it is not collected."
  }

  depends_on = [google_monitoring_metric_descriptor.tally]
}

# --- per source: alerts.above / alerts.below ---------------------------------------------

resource "google_monitoring_alert_policy" "threshold" {
  for_each = local.threshold_rules

  project               = var.project_id
  display_name          = "tally: ${local.sources[each.value.id].name} ${each.value.word} ${each.value.value}"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels = {
    source = each.value.id
  }

  conditions {
    display_name = "${each.value.id} ${each.value.word} ${each.value.value}"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_prefix}value\" AND resource.type=\"global\" AND metric.labels.source=\"${each.value.id}\""
      comparison      = each.value.comparison
      threshold_value = each.value.value
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = each.value.aligner
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Source `${each.value.id}` read a value ${each.value.word} ${each.value.value} (alerts.${each.value.word} in tally.yaml)."
  }

  depends_on = [google_monitoring_metric_descriptor.tally]
}

# --- per source: alerts.change (percent change over a window, up or down) -----------------

resource "google_monitoring_alert_policy" "change" {
  for_each = local.change_rules

  project               = var.project_id
  display_name          = "tally: ${local.sources[each.value.id].name} moved ${each.value.percent}%"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels = {
    source = each.value.id
  }

  dynamic "conditions" {
    for_each = {
      up   = { comparison = "COMPARISON_GT", threshold = each.value.percent }
      down = { comparison = "COMPARISON_LT", threshold = -each.value.percent }
    }
    content {
      display_name = "${each.value.id} ${conditions.key} ${each.value.percent}% within ${each.value.window_s}s"
      condition_threshold {
        filter          = "metric.type=\"${local.metric_prefix}value\" AND resource.type=\"global\" AND metric.labels.source=\"${each.value.id}\""
        comparison      = conditions.value.comparison
        threshold_value = conditions.value.threshold
        duration        = "0s"
        aggregations {
          alignment_period   = "${each.value.window_s}s"
          per_series_aligner = "ALIGN_PERCENT_CHANGE"
        }
        trigger {
          count = 1
        }
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Source `${each.value.id}` changed by more than ${each.value.percent}% within ${each.value.window_s} s (alerts.change in tally.yaml)."
  }

  depends_on = [google_monitoring_metric_descriptor.tally]
}

# --- dashboard ---------------------------------------------------------------------------

resource "google_monitoring_dashboard" "main" {
  project        = var.project_id
  dashboard_json = jsonencode(local.dashboard)
  depends_on     = [google_project_service.apis]
}
