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
    # The fan-out: a tick of more due sources than TALLY_SHARD_SIZE is published back to
    # the function's own topic as shards, each collected on an instance of its own.
    TALLY_COLLECT_TOPIC = local.collect_topic_path
    TALLY_SHARD_SIZE    = tostring(var.collect_shard_size)
  })
  render_env = merge(local.function_env, {
    # The renderer sets Cache-Control "public, max-age=60" on every object it uploads.
    TALLY_SITE_BUCKET = local.site_bucket_name
    # Render shards go to the render topic, drawn in parallel.
    TALLY_RENDER_TOPIC      = local.render_topic_path
    TALLY_RENDER_SHARD_SIZE = tostring(var.render_shard_size)
  })

  # --- the topics, and the fan-out's instances --------------------------------------
  #
  # Each function's trigger listens on its topic (pubsub.tf), the scheduler publishes a
  # tick to it, and the function publishes its shards to it: the same full path.
  collect_topic_name = "${local.prefix}-collect"
  render_topic_name  = "${local.prefix}-render"
  collect_topic_path = "projects/${var.project_id}/topics/${local.collect_topic_name}"
  render_topic_path  = "projects/${var.project_id}/topics/${local.render_topic_name}"

  # At most every source is due in one tick (or drawn in one render): that many shards
  # at once, each on an instance of its own (a function takes one request at a time),
  # plus the invocation that split them (the tick, or the render that publishes the
  # page after its shards). Without a fan-out (one shard) the collector keeps 3, room
  # for a redelivered tick beside the next one, and the renderer 1.
  source_count             = length(local.source_list)
  collect_shards           = max(1, ceil(local.source_count / var.collect_shard_size))
  render_shards            = max(1, ceil(local.source_count / var.render_shard_size))
  collect_instances_needed = local.collect_shards > 1 ? local.collect_shards + 1 : 1
  render_instances_needed  = local.render_shards > 1 ? local.render_shards + 1 : 1
  collect_max_instances    = var.collect_max_instances != null ? var.collect_max_instances : max(3, local.collect_instances_needed)
  render_max_instances     = var.render_max_instances != null ? var.render_max_instances : local.render_instances_needed

  # A CPU Cloud Run accepts with the memory asked for: below 0.5 vCPU at most 512 MiB,
  # below 1 vCPU at most 1 GiB, 4 vCPUs at least 2 GiB. Empty: derived from the memory
  # by Cloud Run functions, which always fits.
  memory_mib = { "512Mi" = 512, "1Gi" = 1024, "2Gi" = 2048, "4Gi" = 4096 }
  cpu_fits_memory = {
    for name, asked in { collect = [var.collect_cpu, var.collect_memory], render = [var.render_cpu, var.render_memory] } : name => (
      asked[0] == "" ? true : try(
        tonumber(asked[0]) < 0.5 ? local.memory_mib[asked[1]] <= 512 :
        tonumber(asked[0]) < 1 ? local.memory_mib[asked[1]] <= 1024 :
        tonumber(asked[0]) >= 4 ? local.memory_mib[asked[1]] >= 2048 :
        true,
      false)
    )
  }

  # --- durations -----------------------------------------------------------------

  duration_pattern = "^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([smhdw])\\s*$"
  unit_seconds     = { s = 1, m = 60, h = 3600, d = 86400, w = 604800 }

  source_list = try([for s in local.config.sources : s], [])

  # Every duration text the config uses, parsed once: a map serves as the function.
  duration_texts = distinct([
    for text in flatten([
      [try(tostring(local.config.render_every), "5m")],
      [try(tostring(local.config.stale_event_after), "30m")],
      [try(tostring(local.config.metrics_every), null)],
      [for s in local.source_list : [
        try(tostring(s.metrics_every), null),
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
      # At most one point per `metrics_every` (the source's, else the config's, else
      # 1m): a staleness policy must wait longer than that, or it fires between points.
      metrics_every_s = try(local.seconds[tostring(s.metrics_every)], local.seconds[tostring(local.config.metrics_every)], 60)
      # http checks write `up` on every run, up or down: "stale" means no check ran.
      # Other kinds write `value` only when they read a number.
      stale_metric = s.kind == "http" ? "up" : "value"
    }
  }

  # --- what each source sends to Cloud Monitoring -------------------------------------
  #
  # As the core decides it (functions/tally/config.py, metrics_of): the source's
  # `metrics`, else the top-level one, else `all`; `none` sends nothing, `value` the
  # value, `all` its kind's metrics (an http check: value, up and latency_ms; any other
  # kind: value). The dashboard shows, and the opt-in policies watch, only these.

  metrics_default = coalesce(try(tostring(local.config.metrics), null), "all")
  source_metrics = {
    for s in local.source_list : s.id => [
      for metric in ["value", "up", "latency_ms"] : metric
      if(
        coalesce(try(tostring(s.metrics), null), local.metrics_default) == "all"
        ? metric == "value" || s.kind == "http"
        : coalesce(try(tostring(s.metrics), null), local.metrics_default) == "value" && metric == "value"
      )
    ]
  }
  # Which metrics at least one source sends (a chart of a metric nobody sends stays empty).
  sent_metrics = toset(flatten(values(local.source_metrics)))

  # --- per-source Cloud Monitoring policies (opt-in: var.per_source_alert_policies) ---
  #
  # tally evaluates every `alerts:` rule itself and notifies through `notify:`; these
  # policies repeat them in Cloud Monitoring for those who want it there too, at
  # Cloud Monitoring's price per condition. Empty unless opted in.
  #
  # A metric-absence condition can wait at most 23.5 hours (Cloud Monitoring's limit);
  # a longer stale_after is written as a PromQL absent_over_time() condition instead.
  #
  # A rule is repeated only for a source that sends the metric it watches (above, below
  # and change: `value`; stale_after: an http check's `up`, another kind's `value`): a
  # policy on a metric the source does not send (`metrics: none`, or `value` for a
  # check's staleness) would never fire, or always. tally evaluates every rule itself
  # whatever `metrics` says.

  max_absence_s = 84600

  stale_rules = {
    for id, s in local.sources : id => {
      seconds = max(120, 60 * ceil(max(s.stale_s, s.metrics_every_s + 60) / 60))
      metric  = s.stale_metric
    } if var.per_source_alert_policies && s.stale_s != null && contains(local.source_metrics[id], s.stale_metric)
  }

  threshold_rules = merge(
    { for id, s in local.sources : "${id}-above" => { id = id, comparison = "COMPARISON_GT", value = s.above, aligner = "ALIGN_MAX", word = "above" } if var.per_source_alert_policies && s.above != null && contains(local.source_metrics[id], "value") },
    { for id, s in local.sources : "${id}-below" => { id = id, comparison = "COMPARISON_LT", value = s.below, aligner = "ALIGN_MIN", word = "below" } if var.per_source_alert_policies && s.below != null && contains(local.source_metrics[id], "value") },
  )

  change_rules = {
    for id, s in local.sources : "${id}-change" => { id = id, percent = s.change, window_s = s.window_s } if var.per_source_alert_policies && s.change != null && contains(local.source_metrics[id], "value")
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

  # The render job's interval in seconds (render_every), for the watchdog's render window.
  render_seconds = local.seconds[local.render_every_text]

  # The Pub/Sub push subscriptions that deliver the scheduler's messages to the two
  # functions: Eventarc creates them for each function's trigger, named
  # eventarc-REGION-TRIGGER-sub-NNN, the trigger being named after the function.
  delivery_subscriptions = "eventarc-${var.region}-${local.prefix}-(collect|render)-.+"

  # One dashboard, whatever the number of sources: the pipeline's charts, then the
  # sources' charts, which show the source picked in the dashboard's `source` variable
  # (a template variable on the metric label `source`; `$${source}` in a filter is
  # replaced by the picked value, or by nothing for all sources). Adding a source
  # changes nothing here, unless it is the first to send a metric (`metrics`): a
  # source chart is there only for a metric some source sends, and the `source`
  # variable only when there is a source chart.
  #
  # Every value below is a non-empty string: a number may come back from the API as a
  # string (an int64 such as gridLayout.columns, hence no `columns`: the console's
  # default applies), and an empty string, 0 or false is left out of what it returns;
  # either would show as a change on every plan.
  pipeline_charts = [
    {
      title = "Executions / min (Cloud Run requests that reached the function)"
      sets = [for fn in ["collect", "render"] : {
        legendTemplate = fn
        timeSeriesQuery = { timeSeriesFilter = {
          filter      = "metric.type=\"run.googleapis.com/request_count\" resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${local.prefix}-${fn}\""
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_DELTA", crossSeriesReducer = "REDUCE_SUM" }
        } }
      }]
    },
    {
      title = "Failed deliveries in 10 min (Pub/Sub push answered other than 2xx)"
      sets = [{
        timeSeriesQuery = {
          prometheusQuery = "sum by (subscription_id, response_code) (increase(pubsub_googleapis_com:subscription_push_request_count{monitored_resource=\"pubsub_subscription\",subscription_id=~\"${local.delivery_subscriptions}\",response_class!=\"ack\"}[10m]))"
        }
      }]
    },
    {
      title = "Latency p95 (ms)"
      sets = [for fn in ["collect", "render"] : {
        legendTemplate = fn
        timeSeriesQuery = { timeSeriesFilter = {
          filter      = "metric.type=\"run.googleapis.com/request_latencies\" resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${local.prefix}-${fn}\""
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_PERCENTILE_95", crossSeriesReducer = "REDUCE_MAX" }
        } }
      }]
    },
    {
      title = "Heartbeats: sources collected per tick, objects written per render"
      sets = [for metric in ["ticks", "renders"] : {
        legendTemplate = metric
        timeSeriesQuery = { timeSeriesFilter = {
          filter      = "metric.type=\"${local.metric_prefix}${metric}\" resource.type=\"global\""
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX" }
        } }
      }]
    },
  ]

  source_charts = [
    for chart in [
      { title = "Value of the source picked in \"source\" (all: every source)", metric = "value", aligner = "ALIGN_MEAN" },
      { title = "Response time of http checks (ms)", metric = "latency_ms", aligner = "ALIGN_MEAN" },
      { title = "Up (http checks: 1 up, 0 down)", metric = "up", aligner = "ALIGN_MIN" },
      ] : {
      title = chart.title
      sets = [{
        timeSeriesQuery = { timeSeriesFilter = {
          filter      = "metric.type=\"${local.metric_prefix}${chart.metric}\" resource.type=\"global\" $${source}"
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = chart.aligner }
        } }
      }]
    } if contains(local.sent_metrics, chart.metric)
  ]

  dashboard = {
    displayName = "tally: ${try(tostring(local.config.title), "tally")}"
    dashboardFilters = [
      for variable in ["source"] : { filterType = "METRIC_LABEL", labelKey = variable, templateVariable = variable }
      if length(local.source_charts) > 0
    ]
    gridLayout = {
      widgets = [
        for chart in concat(local.pipeline_charts, local.source_charts) : {
          title   = chart.title
          xyChart = { dataSets = [for set in chart.sets : merge({ plotType = "LINE" }, set)] }
        }
      ]
    }
  }

  # --- the watchdog: what tally cannot report about itself ----------------------------
  #
  # One PromQL condition for the whole deployment. It holds when
  # - the collect function wrote no tally/ticks heartbeat for 10 minutes
  #   (absent_over_time also holds for a series never written: a deployment that never
  #   ticked);
  # - the render function wrote no tally/renders heartbeat for 10 minutes past its
  #   interval (render_every): no page is being published;
  # - a function's deliveries failed for 10 minutes: Pub/Sub's push attempts were
  #   answered with anything but a 2xx (a 5xx, a 403 of a lost invoker binding, a 429
  #   at the instance cap, a timeout) and none succeeded. Cloud Run's own request count
  #   does not see the 403 and 429 ones (it excludes requests that never reached an
  #   instance), Pub/Sub's count of push attempts does.

  watchdog_query = join(" or ", [
    "absent_over_time(custom_googleapis_com:tally_ticks{monitored_resource=\"global\",project_id=\"${var.project_id}\"}[10m])",
    "absent_over_time(custom_googleapis_com:tally_renders{monitored_resource=\"global\",project_id=\"${var.project_id}\"}[${local.render_seconds + 600}s])",
    "(sum by (subscription_id) (increase(pubsub_googleapis_com:subscription_push_request_count{monitored_resource=\"pubsub_subscription\",project_id=\"${var.project_id}\",subscription_id=~\"${local.delivery_subscriptions}\",response_class!=\"ack\"}[10m])) > 0 unless on (subscription_id) sum by (subscription_id) (increase(pubsub_googleapis_com:subscription_push_request_count{monitored_resource=\"pubsub_subscription\",project_id=\"${var.project_id}\",subscription_id=~\"${local.delivery_subscriptions}\",response_class=\"ack\"}[10m])) > 0)",
  ])
}
