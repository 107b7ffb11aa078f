# Cloud Monitoring keeps what it is best at: the custom metrics, the dashboard, and
# one watchdog for what tally cannot report about itself. tally evaluates the
# `alerts:` rules of tally.yaml itself and notifies through its `notify:` channels
# (docs/alerts.md); per-source policies here are an opt-in
# (var.per_source_alert_policies), because Cloud Monitoring bills every condition.
# What depends on tally.yaml (rules, widgets) is derived in main.tf.

# --- metric descriptors ---------------------------------------------------------------
# Declared up front so that the alert policies below can refer to them before the
# collector's first write (Monitoring rejects a filter on an unknown metric type), and
# so that the collector never creates them implicitly with other labels.

locals {
  metrics = {
    value      = { value_type = "DOUBLE", unit = "1", description = "The value a source read (for http checks: the response time in ms)." }
    up         = { value_type = "INT64", unit = "1", description = "http checks: 1 when the check passed, 0 when it failed." }
    latency_ms = { value_type = "DOUBLE", unit = "ms", description = "http checks: response time." }
    ticks      = { value_type = "INT64", unit = "1", description = "Sources collected at a tick; written every tick, even 0 (the collect heartbeat)." }
    renders    = { value_type = "INT64", unit = "1", description = "Objects a render wrote; written after every render that published the page, even 0 (the render heartbeat)." }
  }
  # The heartbeats are one series for the deployment; the others have one per source.
  heartbeats = ["ticks", "renders"]
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
    for_each = contains(local.heartbeats, each.key) ? [] : ["source"]
    content {
      key         = labels.value
      value_type  = "STRING"
      description = "The source's id in tally.yaml."
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

# Creating a descriptor is asynchronous: a policy created right after it can be refused
# with "Cannot find metric(s) that match type ... it could take up to 10 minutes". The
# policies wait those 10 minutes; the wait starts as soon as the descriptors exist and
# runs while the functions build (5-10 minutes), so a first apply barely lengthens.
# `triggers`: a new descriptor waits again.
resource "time_sleep" "metric_descriptors" {
  create_duration = "10m"

  triggers = {
    types = join(",", sort([for descriptor in google_monitoring_metric_descriptor.tally : descriptor.type]))
  }
}

# --- notification channels: email only ------------------------------------------------
# People's Slack, webhook, ntfy, ... channels are tally's own `notify:` (Apprise URLs,
# with their secrets in Secret Manager), not Cloud Monitoring channels.

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.notification_emails)

  project      = var.project_id
  display_name = "tally: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
  depends_on = [time_sleep.apis_enabled]
}

locals {
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]
}

# --- the watchdog: one condition for the whole deployment ---------------------------------

# Created once the pipeline can tick: five minutes after the trigger may invoke the
# functions and the scheduler jobs exist, so that a first apply's first heartbeats come
# before the watchdog and it sends nothing (with render_every longer than 5 minutes the
# first page may come later: docs/deploy.md); a deployment that has not ticked by
# then is reported as it should be.
resource "time_sleep" "first_ticks" {
  count = var.watchdog_alert ? 1 : 0

  create_duration = "5m"

  depends_on = [
    google_cloud_run_v2_service_iam_member.trigger_invokes_collect,
    google_cloud_run_v2_service_iam_member.trigger_invokes_render,
    google_cloud_scheduler_job.collect,
    google_cloud_scheduler_job.render,
  ]
}

resource "google_monitoring_alert_policy" "watchdog" {
  count = var.watchdog_alert ? 1 : 0

  project               = var.project_id
  display_name          = "tally: pipeline watchdog"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.notification_channels

  conditions {
    display_name = "no heartbeat of either function, or deliveries failing for 10 minutes"
    condition_prometheus_query_language {
      query               = local.watchdog_query
      duration            = "0s"
      evaluation_interval = "60s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "One of three: (1) `${google_cloudfunctions2_function.collect.name}` wrote no tally/ticks heartbeat for 10 minutes: the scheduler job `${google_cloud_scheduler_job.collect.name}`, its topic or the function is not working, so tally cannot send its own notifications either. (2) `${google_cloudfunctions2_function.render.name}` wrote no tally/renders heartbeat for 10 minutes past its interval: the page is not being published. (3) Pub/Sub's deliveries to one of them (the series' subscription_id names it) were answered with no 2xx for 10 minutes: a 5xx is the function failing (a failing source never fails it: this is infrastructure, e.g. Firestore unavailable), a 403 a lost invoker binding of the trigger account, a 429 the instance cap. See the functions' logs and the dashboard."
  }

  depends_on = [time_sleep.metric_descriptors, time_sleep.first_ticks]
}

# --- opt-in, per source: staleness (alerts.stale_after) ------------------------------------

resource "google_monitoring_alert_policy" "stale" {
  for_each = local.stale_rules

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
    content   = "No new sample of source `${each.key}` for ${each.value.seconds} s (its `alerts.stale_after`, or its `metrics_every` and a minute if that is longer: a point is sent at most once per `metrics_every`). Either it is failing (see the page's status and the collect function's logs) or it is not collected."
  }

  lifecycle {
    precondition {
      condition     = local.per_source_policy_count + 1 <= local.max_alert_policies
      error_message = "per_source_alert_policies would create ${local.per_source_policy_count} policies; a project holds ${local.max_alert_policies} (one is the watchdog). tally's own alerts need none: turn per_source_alert_policies off."
    }
  }

  depends_on = [time_sleep.metric_descriptors]
}

# --- opt-in, per source: alerts.above / alerts.below ---------------------------------------

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

  lifecycle {
    precondition {
      condition     = local.per_source_policy_count + 1 <= local.max_alert_policies
      error_message = "per_source_alert_policies would create ${local.per_source_policy_count} policies; a project holds ${local.max_alert_policies} (one is the watchdog). tally's own alerts need none: turn per_source_alert_policies off."
    }
  }

  depends_on = [time_sleep.metric_descriptors]
}

# --- opt-in, per source: alerts.change (percent change over a window, up or down) ----------

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

  lifecycle {
    precondition {
      condition     = local.per_source_policy_count + 1 <= local.max_alert_policies
      error_message = "per_source_alert_policies would create ${local.per_source_policy_count} policies; a project holds ${local.max_alert_policies} (one is the watchdog). tally's own alerts need none: turn per_source_alert_policies off."
    }
  }

  depends_on = [time_sleep.metric_descriptors]
}

# --- the dashboard ---------------------------------------------------------------------------
# One, whatever the number of sources: the sources' charts show the one picked in its
# `source` variable (main.tf, local.dashboard).

resource "google_monitoring_dashboard" "main" {
  project        = var.project_id
  dashboard_json = jsonencode(local.dashboard)
  depends_on     = [time_sleep.apis_enabled]
}
