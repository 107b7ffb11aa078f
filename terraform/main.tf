# tally.yaml -> everything the other files provision.
#
# The config is read once, here, with yamldecode(file(...)); its text is also uploaded
# for the functions (storage.tf: an object named by its hash, whose address they get in
# TALLY_CONFIG_OBJECT), so the functions and the infrastructure can never disagree
# about the sources. This file holds only locals derived from the config and the
# variables (no resources), so the offline tests can evaluate it with `terraform
# console` for any tally.yaml.
#
# Nothing here interprets crons: when a source is due is the core's business
# (functions/tally/schedule.py). Durations are parsed the way
# functions/tally/durations.py parses them ("30s", "5m", "2h", "1d", "1w", or a bare
# number of seconds).

locals {
  config_text = file(var.config_path)
  config      = yamldecode(local.config_text)

  prefix             = var.name_prefix
  firestore_db       = "(default)" # the free tier applies to the (default) database only
  firestore_loc      = var.firestore_location == "" ? var.region : var.firestore_location
  site_bucket_name   = var.site_bucket_name == "" ? "${var.project_id}-${var.name_prefix}-site" : var.site_bucket_name
  source_bucket_name = "${var.project_id}-${var.name_prefix}-functions"

  # Where the functions read tally.yaml (functions/tally/config_object.py names it the
  # same way), and the page's public address for links in notifications (a `site_url`
  # in tally.yaml wins over it, in the core).
  config_object_name = "config/tally-${sha256(local.config_text)}.yaml"
  config_object_url  = "gs://${local.source_bucket_name}/${local.config_object_name}"
  # a private site (site_public = false) is read signed in, at storage.cloud.google.com
  site_host = var.site_public ? "storage.googleapis.com" : "storage.cloud.google.com"
  site_url  = "https://${local.site_host}/${local.site_bucket_name}"

  # The functions' environment: a handful of short values whatever the number of
  # sources (all of a function's variables share 32 KiB). Secrets are bound apart
  # (functions.tf), never as plain values.
  function_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id # not set automatically on 2nd gen Python
    TALLY_CONFIG_OBJECT  = local.config_object_url
    LOG_EXECUTION_ID     = "true"
  }
  collect_env = merge(local.function_env, {
    TALLY_SITE_URL = local.site_url # links in the notifications the collector sends
  })
  render_env = merge(local.function_env, {
    # The renderer sets Cache-Control "public, max-age=60" on every object it uploads.
    TALLY_SITE_BUCKET = local.site_bucket_name
  })

  # --- durations -----------------------------------------------------------------

  duration_pattern = "^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([smhdw])\\s*$"
  unit_seconds     = { s = 1, m = 60, h = 3600, d = 86400, w = 604800 }

  source_list = try([for s in local.config.sources : s], [])

  # Every duration text the config uses, parsed once: a map serves as the function.
  duration_texts = distinct([
    for text in flatten([
      [try(tostring(local.config.render_every), "5m")],
      [try(tostring(local.config.stale_event_after), "30m")],
      [for s in local.source_list : [
        try(tostring(s.alerts.stale_after), null),
        try(tostring(s.alerts.change.window), null),
      ]],
    ]) : text if text != null && text != ""
  ])
  seconds = {
    for text in local.duration_texts : text => (
      can(tonumber(text))
      ? tonumber(text)
      : tonumber(regex(local.duration_pattern, text)[0]) * local.unit_seconds[regex(local.duration_pattern, text)[1]]
    )
  }

  # --- the render job's schedule ---------------------------------------------------

  render_every_text = try(tostring(local.config.render_every), "5m")
  render_minutes    = floor(local.seconds[local.render_every_text] / 60)
  # Cloud Scheduler takes a cron: minutes that divide an hour, or hours that divide a
  # day. Anything else is null, which the render job's precondition reports.
  render_schedule = (
    local.render_minutes == 1 ? "* * * * *" :
    local.render_minutes > 1 && local.render_minutes < 60 && 60 % local.render_minutes == 0 ? "*/${local.render_minutes} * * * *" :
    local.render_minutes == 60 ? "0 * * * *" :
    local.render_minutes > 60 && local.render_minutes % 60 == 0 && 1440 % local.render_minutes == 0 ? "0 */${floor(local.render_minutes / 60)} * * *" :
    null
  )

  # --- sources ---------------------------------------------------------------------

  sources = {
    for s in local.source_list : s.id => {
      id       = s.id
      name     = try(s.name, null) == null || try(s.name, "") == "" ? s.id : s.name
      kind     = s.kind
      unit     = try(tostring(s.unit), "")
      above    = try(tonumber(s.alerts.above), null)
      below    = try(tonumber(s.alerts.below), null)
      change   = try(tonumber(s.alerts.change.percent), null)
      window_s = try(local.seconds[tostring(s.alerts.change.window)], 86400)
      # Only an explicit alerts.stale_after: a default derived from the schedule would
      # be a second cron interpreter beside the core's.
      stale_s = try(local.seconds[tostring(s.alerts.stale_after)], null)
      # http checks write `up` on every run, up or down: "stale" means no check ran.
      # Other kinds write `value` only when they read a number.
      stale_metric = s.kind == "http" ? "up" : "value"
    }
  }

  # --- per-source Cloud Monitoring policies (opt-in: var.per_source_alert_policies) ---
  #
  # tally evaluates every `alerts:` rule itself and notifies through `notify:`; these
  # policies repeat them in Cloud Monitoring for those who want it there too, at
  # Cloud Monitoring's price per condition. Empty unless opted in.
  #
  # A metric-absence condition can wait at most 23.5 hours (Cloud Monitoring's limit);
  # a longer stale_after is written as a PromQL absent_over_time() condition instead.

  max_absence_s = 84600

  stale_rules = {
    for id, s in local.sources : id => {
      seconds = max(120, 60 * ceil(s.stale_s / 60))
      metric  = s.stale_metric
    } if var.per_source_alert_policies && s.stale_s != null
  }

  threshold_rules = merge(
    { for id, s in local.sources : "${id}-above" => { id = id, comparison = "COMPARISON_GT", value = s.above, aligner = "ALIGN_MAX", word = "above" } if var.per_source_alert_policies && s.above != null },
    { for id, s in local.sources : "${id}-below" => { id = id, comparison = "COMPARISON_LT", value = s.below, aligner = "ALIGN_MIN", word = "below" } if var.per_source_alert_policies && s.below != null },
  )

  change_rules = {
    for id, s in local.sources : "${id}-change" => { id = id, percent = s.change, window_s = s.window_s } if var.per_source_alert_policies && s.change != null
  }

  # A project holds at most 500 alerting policies; one is the watchdog.
  per_source_policy_count    = length(local.stale_rules) + length(local.threshold_rules) + length(local.change_rules)
  per_source_condition_count = length(local.stale_rules) + length(local.threshold_rules) + 2 * length(local.change_rules)
  max_alert_policies         = 500

  # --- secrets: one per ${env:NAME} in sources (URLs, headers, tokens) and channels ---
  #
  # A `notify:` channel URL (an Apprise URL, which may be a whole webhook address) is
  # only ever in the config text; its `${env:NAME}` parts become secrets bound to the
  # collect function, which sends the notifications.

  env_ref_pattern = "\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)\\}"
  source_secret_texts = flatten([
    for s in local.source_list : concat(
      [for k, v in try(s.headers, {}) : tostring(v)],
      try(s.token, null) == null ? [] : [tostring(s.token)],
      try(s.url, null) == null ? [] : [tostring(s.url)],
    )
  ])
  channel_secret_texts = try([for name, url in local.config.notify : tostring(url)], [])
  secret_names = sort(distinct(flatten([
    for text in concat(local.source_secret_texts, local.channel_secret_texts) : regexall(local.env_ref_pattern, text)
  ])))
  bound_secrets = [for name in local.secret_names : name if contains(var.secrets_with_value, name)]

  # --- metrics and the dashboard ------------------------------------------------------

  metric_prefix = "custom.googleapis.com/tally/"

  pipeline_widgets = [
    for chart in [
      { title = "Function executions / min", metric = "run.googleapis.com/request_count", extra = "", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM" },
      { title = "Function errors (5xx) / min", metric = "run.googleapis.com/request_count", extra = " AND metric.labels.response_code_class=\"5xx\"", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM" },
      { title = "Function latency p95 (ms)", metric = "run.googleapis.com/request_latencies", extra = "", aligner = "ALIGN_PERCENTILE_95", reducer = "REDUCE_MAX" },
      ] : {
      title = chart.title
      xyChart = {
        dataSets = [
          for fn in ["collect", "render"] : {
            plotType       = "LINE"
            legendTemplate = fn
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"${chart.metric}\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.prefix}-${fn}\"${chart.extra}"
                aggregation = {
                  alignmentPeriod    = "60s"
                  perSeriesAligner   = chart.aligner
                  crossSeriesReducer = chart.reducer
                }
              }
            }
          }
        ]
      }
    }
  ]

  # Per source: its value; for http checks, the response time and up (right axis).
  chart_series = {
    check  = [["latency_ms", "Y1", "response ms"], ["up", "Y2", "up"]]
    number = [["value", "Y1", "value"]]
  }

  source_widgets = [
    for id, s in local.sources : {
      title = s.unit == "" ? s.name : "${s.name} (${s.unit})"
      xyChart = {
        dataSets = [
          for series in local.chart_series[s.kind == "http" ? "check" : "number"] : {
            plotType       = "LINE"
            targetAxis     = series[1]
            legendTemplate = series[2]
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"${local.metric_prefix}${series[0]}\" AND resource.type=\"global\" AND metric.labels.source=\"${id}\""
                aggregation = {
                  alignmentPeriod  = "60s"
                  perSeriesAligner = series[0] == "up" ? "ALIGN_MIN" : "ALIGN_MEAN"
                }
              }
            }
          }
        ]
      }
    }
  ]

  # A dashboard holds a bounded number of charts (25 in the oldest limits found; a
  # request with 1,000 widgets would fail the apply), so the sources' charts are spread
  # over dashboards of `dashboard_sources` each; the first also has the pipeline row.
  dashboard_sources = 20
  dashboard_count   = max(1, ceil(length(local.source_widgets) / local.dashboard_sources))

  dashboards = {
    for page in range(local.dashboard_count) : format("%03d", page + 1) => {
      displayName = (
        local.dashboard_count == 1
        ? "tally: ${try(tostring(local.config.title), "tally")}"
        : "tally: ${try(tostring(local.config.title), "tally")} (${page + 1}/${local.dashboard_count})"
      )
      gridLayout = {
        columns = 2
        widgets = concat(
          page == 0 ? local.pipeline_widgets : [],
          slice(
            local.source_widgets,
            page * local.dashboard_sources,
            min(length(local.source_widgets), (page + 1) * local.dashboard_sources),
          ),
        )
      }
    }
  }

  # --- the watchdog: what tally cannot report about itself ----------------------------
  #
  # One PromQL condition for the whole deployment: no tally/ticks heartbeat for 10
  # minutes (absent_over_time also holds for a series never written: a deployment that
  # never ticked), or executions of either function that failed (5xx) in 10 minutes.

  watchdog_query = join(" or ", [
    "absent_over_time(custom_googleapis_com:tally_ticks{monitored_resource=\"global\",project_id=\"${var.project_id}\"}[10m])",
    "sum by (service_name) (increase(run_googleapis_com:request_count{monitored_resource=\"cloud_run_revision\",project_id=\"${var.project_id}\",service_name=~\"${local.prefix}-collect|${local.prefix}-render\",response_code_class=\"5xx\"}[10m])) > 0",
  ])
}
