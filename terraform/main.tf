# tally.yaml -> everything the other files provision.
#
# The config is read once, here, with yamldecode(file(...)); its text is also handed
# to both functions (TALLY_CONFIG_YAML), so the functions and the infrastructure can
# never disagree about the sources. This file holds only locals derived from the
# config and the variables (no resources), so the offline tests can evaluate it with
# `terraform console` for any tally.yaml.
#
# Durations are parsed the way functions/tally/durations.py parses them ("30s", "5m",
# "2h", "1d", "1w", or a bare number of seconds).

locals {
  config_text = file(var.config_path)
  config      = yamldecode(local.config_text)

  prefix             = var.name_prefix
  firestore_db       = "(default)" # the free tier applies to the (default) database only
  firestore_loc      = var.firestore_location == "" ? var.region : var.firestore_location
  site_bucket_name   = var.site_bucket_name == "" ? "${var.project_id}-${var.name_prefix}-site" : var.site_bucket_name
  source_bucket_name = "${var.project_id}-${var.name_prefix}-functions"

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
        try(tostring(s.every), null),
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
      id        = s.id
      name      = try(s.name, null) == null || try(s.name, "") == "" ? s.id : s.name
      kind      = s.kind
      unit      = try(tostring(s.unit), "")
      every_s   = try(local.seconds[tostring(s.every)], null)
      schedules = try(s.schedule, null) == null ? tolist([]) : try(tolist([tostring(s.schedule)]), tolist([for c in s.schedule : tostring(c)]))
      above     = try(tonumber(s.alerts.above), null)
      below     = try(tonumber(s.alerts.below), null)
      change    = try(tonumber(s.alerts.change.percent), null)
      window_s  = try(local.seconds[tostring(s.alerts.change.window)], 86400)
      stale_s   = try(local.seconds[tostring(s.alerts.stale_after)], null)
      # http checks write `up` on every run, up or down: "stale" means no check ran.
      # Other kinds write `value` only when they read a number.
      stale_metric = s.kind == "http" ? "up" : "value"
    }
  }

  # --- a cron source's period: the longest gap between two runs --------------------
  #
  # functions/tally/schedule.py defines a source's period as the longest gap between
  # two of its runs. Here each cron is expanded over the minutes of a week (minute,
  # hour and day-of-week fields), all of a source's crons are merged, and the longest
  # gap (wrapping around the week) is taken. A cron that restricts the day of the
  # month or the month, or that uses names (MON, JAN) or other syntax, has no fixed
  # weekly pattern: its period counts as 8 days, the core's own fallback. Set
  # `alerts.stale_after` for such a source to be precise.

  cron_field_pattern = "^(\\*|[0-9]+)(?:-([0-9]+))?(?:/([0-9]+))?$"
  cron_limits        = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]]
  unknown_period_s   = 8 * 86400

  crons = {
    for item in flatten([
      for id, s in local.sources : [
        for index, expr in s.schedules : { key = "${id}#${index}", id = id, fields = regexall("\\S+", expr) }
      ]
    ]) : item.key => item
  }

  cron_parts = flatten([
    for key, cron in local.crons : [
      for field in range(length(cron.fields) == 5 ? 5 : 0) : [
        for part in split(",", cron.fields[field]) : {
          key   = key
          field = field
          lo    = local.cron_limits[field][0]
          hi    = local.cron_limits[field][1]
          m     = try(regex(local.cron_field_pattern, part), null)
        }
      ]
    ]
  ])

  # "<cron key>#<field>" => list of the values each part allows (null: unreadable).
  cron_field_values = {
    for p in local.cron_parts : "${p.key}#${p.field}" => (
      p.m == null ? null : try(
        p.m[0] == "*"
        ? range(p.lo, p.hi + 1, p.m[2] == null ? 1 : tonumber(p.m[2]))
        : range(
          tonumber(p.m[0]),
          (p.m[1] != null ? tonumber(p.m[1]) : (p.m[2] != null ? p.hi : tonumber(p.m[0]))) + 1,
          p.m[2] == null ? 1 : tonumber(p.m[2])
        ),
        null
      )
    )...
  }

  # Each cron as the hours of the week it fires in (0 = Sunday 00h) and the minutes
  # past those hours, or null when it has no fixed weekly pattern. Kept in two levels
  # (<= 168 hours, <= 60 minutes) rather than as the <= 10080 minutes of a week:
  # Terraform's list operations make the flat form take minutes to evaluate.
  cron_pattern = {
    for key, cron in local.crons : key => (
      try(
        cron.fields[2] != "*" || cron.fields[3] != "*"
        || length([for f in [0, 1, 4] : f if length([for v in local.cron_field_values["${key}#${f}"] : v if v == null]) > 0]) > 0,
        true
      )
      ? null
      : {
        hours = [
          for t in setproduct(
            distinct([for d in flatten(local.cron_field_values["${key}#4"]) : d % 7]),
            distinct(flatten(local.cron_field_values["${key}#1"])),
          ) : t[0] * 24 + t[1]
        ]
        minutes = distinct(flatten(local.cron_field_values["${key}#0"]))
      }
    )
  }

  # Sources whose every cron has a weekly pattern.
  cron_sources = {
    for id, s in local.sources : id => s
    if length(s.schedules) > 0 && length([for index, expr in s.schedules : index if local.cron_pattern["${id}#${index}"] == null]) == 0
  }

  # id => { "hhh" (hour of week, zero-padded so that keys sort) => [indexes of the crons firing in it] }
  cron_hours = {
    for id, s in local.cron_sources : id => {
      for pair in flatten([
        for index, expr in s.schedules : [for hour in local.cron_pattern["${id}#${index}"].hours : { hour = format("%03d", hour), index = index }]
      ]) : pair.hour => pair.index...
    }
  }

  # The distinct combinations of crons firing in an hour, and the sorted minutes of each.
  cron_hour_sets = {
    for id, hours in local.cron_hours : id => {
      for hour, indexes in hours : join(",", sort(formatlist("%03d", distinct(indexes)))) => distinct(indexes)...
    }
  }
  cron_set_minutes = {
    for id, sets in local.cron_hour_sets : id => {
      for set, indexes in sets : set => [
        for key in keys({
          for minute in flatten([for index in indexes[0] : local.cron_pattern["${id}#${index}"].minutes]) : format("%02d", minute) => true...
        }) : tonumber(key)
      ]
    }
  }

  # Per source: its firing hours in order, and the cron combination of each.
  cron_hour_order = { for id, hours in local.cron_hours : id => keys(hours) }
  cron_hour_set = {
    for id, hours in local.cron_hours : id => {
      for hour, indexes in hours : hour => join(",", sort(formatlist("%03d", distinct(indexes))))
    }
  }

  # Longest gap, in minutes: inside an hour, or from one firing hour to the next
  # (wrapping around the week).
  cron_period_s = {
    for id, order in local.cron_hour_order : id => 60 * max(concat(
      flatten([
        for set, minutes in local.cron_set_minutes[id] : [
          for i, minute in minutes : minutes[i + 1] - minute if i < length(minutes) - 1
        ]
      ]),
      [
        for i, hour in order : (
          (i == length(order) - 1 ? tonumber(order[0]) + 168 : tonumber(order[i + 1])) * 60
          + local.cron_set_minutes[id][local.cron_hour_set[id][order[i == length(order) - 1 ? 0 : i + 1]]][0]
          -tonumber(hour) * 60
          -reverse(local.cron_set_minutes[id][local.cron_hour_set[id][hour]])[0]
        )
      ],
    )...)
  }

  # --- staleness ------------------------------------------------------------------
  #
  # Default: 2 x the period. A metric-absence condition can wait at most 23.5 hours
  # (Cloud Monitoring's limit); a longer one (a daily source: 2 days) is written as a
  # PromQL absent_over_time() condition instead.

  max_absence_s = 84600

  staleness = {
    for id, s in local.sources : id => {
      seconds = max(120, 60 * ceil((s.stale_s != null ? s.stale_s : 2 * (s.every_s != null ? s.every_s : lookup(local.cron_period_s, id, local.unknown_period_s))) / 60))
      metric  = s.stale_metric
    }
  }

  # --- alert rules from `alerts:` ---------------------------------------------------

  threshold_rules = merge(
    { for id, s in local.sources : "${id}-above" => { id = id, comparison = "COMPARISON_GT", value = s.above, aligner = "ALIGN_MAX", word = "above" } if s.above != null },
    { for id, s in local.sources : "${id}-below" => { id = id, comparison = "COMPARISON_LT", value = s.below, aligner = "ALIGN_MIN", word = "below" } if s.below != null },
  )

  change_rules = {
    for id, s in local.sources : "${id}-change" => { id = id, percent = s.change, window_s = s.window_s } if s.change != null
  }

  # --- secrets: one per ${env:NAME} in URLs, headers and tokens ---------------------

  env_ref_pattern = "\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)\\}"
  secret_names = sort(distinct(flatten([
    for s in local.source_list : [
      for text in concat(
        [for k, v in try(s.headers, {}) : tostring(v)],
        try(s.token, null) == null ? [] : [tostring(s.token)],
        try(s.url, null) == null ? [] : [tostring(s.url)],
      ) : flatten(regexall(local.env_ref_pattern, text))
    ]
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

  dashboard = {
    displayName = "tally: ${try(tostring(local.config.title), "tally")}"
    gridLayout = {
      columns = 2
      widgets = concat(local.pipeline_widgets, local.source_widgets)
    }
  }
}
