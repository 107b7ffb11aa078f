# Inputs. Everything about the sources (schedules, alerts, secrets) comes from
# tally.yaml (`config_path`); these variables say where and how to deploy it.

variable "project_id" {
  type        = string
  description = "The Google Cloud project to deploy into (it must have billing enabled)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a project ID (6-30 lowercase letters, digits, hyphens), not a project name or number."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions, the scheduler jobs and the buckets, e.g. us-central1 (Cloud Storage's Always Free tier is in us-central1, us-east1 and us-west1)."
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "The region must be a Google Cloud region such as us-central1 or asia-northeast1."
  }
}

variable "firestore_location" {
  type        = string
  description = "Location of the Firestore database: a region (e.g. us-central1) or a multi-region (nam5, eur3). Empty means the same as `region`. It cannot be changed after the first apply."
  default     = ""

  validation {
    condition     = var.firestore_location == "" || can(regex("^([a-z]+-[a-z]+[0-9]+|nam[0-9]+|eur[0-9]+)$", var.firestore_location))
    error_message = "The firestore_location must be empty, a region such as us-central1, or a multi-region such as nam5 or eur3."
  }
}

variable "config_path" {
  type        = string
  description = "Path of tally.yaml, relative to this directory. Terraform reads it for the schedule, dashboard and secrets, and uploads it to the private functions bucket, where the functions read it."
  default     = "../tally.yaml"

  validation {
    condition     = fileexists(var.config_path)
    error_message = "The config_path file does not exist: copy tally.example.yaml to tally.yaml (or pass -var config_path=...)."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the names of functions, topics, jobs, service accounts, secrets and buckets. One deployment per project all the same: the (default) Firestore database, its documents and the custom.googleapis.com/tally/* metrics are not prefixed."
  default     = "tally"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.name_prefix))
    error_message = "The name_prefix must be 1-12 characters: a lowercase letter, then lowercase letters, digits or hyphens."
  }
}

variable "site_bucket_name" {
  type        = string
  description = "Name of the public bucket that serves the page. Empty means \"<project_id>-<name_prefix>-site\". Bucket names are global: pick another if it is taken."
  default     = ""

  validation {
    condition     = var.site_bucket_name == "" || can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", var.site_bucket_name))
    error_message = "The site_bucket_name must be empty or a valid bucket name (3-63 lowercase letters, digits, '-', '_', '.')."
  }
}

variable "collect_memory" {
  type        = string
  description = "Memory of the collect function (Cloud Run notation: 512Mi or 1Gi). It fetches sources and writes samples; idle it uses about 213 MiB, and each of its two reader processes may take 48 MiB more, so 256Mi is refused."
  default     = "512Mi"

  validation {
    condition     = contains(["512Mi", "1Gi", "2Gi"], var.collect_memory)
    error_message = "The collect_memory must be one of 512Mi, 1Gi, 2Gi (the function with its two capped reader processes needs more than 256Mi)."
  }
}

variable "render_memory" {
  type        = string
  description = "Memory of the render function (pandas + matplotlib need about 1 GiB)."
  default     = "1Gi"

  validation {
    condition     = contains(["1Gi", "2Gi", "4Gi"], var.render_memory)
    error_message = "The render_memory must be one of 1Gi, 2Gi, 4Gi."
  }
}

variable "collect_cpu" {
  type        = string
  description = "vCPUs of each collect instance, as Cloud Run takes them: empty (the default) lets Cloud Run functions derive it from collect_memory (512Mi: 0.333, 1Gi: 0.583, 2Gi: 1); else 0.08 to 0.999 (at most 3 decimals) or 1, 2, 4. Below 0.5 vCPU the memory may be at most 512Mi, below 1 at most 1Gi (checked at plan). A fetch is CPU-bound (1.0-1.15 ms of a full core, 3-3.5 ms at 0.333): more CPU shortens a shard, and bills its waiting for slow answers at the higher rate (docs/deploy.md, \"Past one instance\")."
  default     = ""

  validation {
    condition     = var.collect_cpu == "" || can(regex("^(0\\.[0-9]{1,3}|1|2|4)$", var.collect_cpu)) && try(tonumber(var.collect_cpu) >= 0.08, false)
    error_message = "The collect_cpu must be empty (derived from collect_memory), a fraction from 0.08 to 0.999 with at most 3 decimals, or 1, 2 or 4."
  }
}

variable "render_cpu" {
  type        = string
  description = "vCPUs of each render instance: empty (the default) lets Cloud Run functions derive it from render_memory (1Gi: 0.583, 2Gi: 1, 4Gi: 2); else 0.5 to 0.999 (at most 3 decimals; less is refused with 1Gi or more) or 1, 2, 4. Below 1 vCPU the memory may be at most 1Gi, 4 vCPUs need 2Gi (checked at plan). Drawing is CPU-bound: more CPU draws a shard sooner for about the same vCPU-seconds."
  default     = ""

  validation {
    condition     = var.render_cpu == "" || can(regex("^(0\\.[0-9]{1,3}|1|2|4)$", var.render_cpu)) && try(tonumber(var.render_cpu) >= 0.5, false)
    error_message = "The render_cpu must be empty (derived from render_memory), a fraction from 0.5 to 0.999 with at most 3 decimals, or 1, 2 or 4."
  }
}

variable "collect_shard_size" {
  type        = number
  description = "Sources one collect instance fetches in a tick: when more are due, the tick is split into shards of this many, each a Pub/Sub message to the collect topic handled on an instance of its own (TALLY_SHARD_SIZE). A shard of 250 took 0.40-0.59 s of a full core in the benchmarks, 1.2-1.8 s at 0.333 vCPU."
  default     = 250

  validation {
    condition     = var.collect_shard_size >= 25 && var.collect_shard_size <= 1000 && floor(var.collect_shard_size) == var.collect_shard_size
    error_message = "The collect_shard_size must be a whole number from 25 (one group of sources) to 1000."
  }
}

variable "render_shard_size" {
  type        = number
  description = "Sources one render instance draws: when more are to be drawn, the render is split into shards of this many, drawn in parallel (TALLY_RENDER_SHARD_SIZE); the page that lists them is published after them."
  default     = 100

  validation {
    condition     = var.render_shard_size >= 1 && var.render_shard_size <= 1000 && floor(var.render_shard_size) == var.render_shard_size
    error_message = "The render_shard_size must be a whole number from 1 to 1000."
  }
}

variable "collect_max_instances" {
  type        = number
  description = "Upper bound of concurrent collect instances. Null (the default) derives it from tally.yaml: a tick of more sources than collect_shard_size runs one instance per shard plus the tick's own, so ceil(sources / collect_shard_size) + 1, and never fewer than 3 (a redelivered tick beside the next one). A number below what the sources need is refused at plan: the shards would queue instead of running at once. Idle instances cost nothing."
  default     = null

  validation {
    condition     = var.collect_max_instances == null || try(var.collect_max_instances >= 1 && var.collect_max_instances <= 1000 && floor(var.collect_max_instances) == var.collect_max_instances, false)
    error_message = "The collect_max_instances must be null (derived from the sources) or a whole number from 1 to 1000."
  }
}

variable "render_max_instances" {
  type        = number
  description = "Upper bound of concurrent render instances. Null (the default) derives it from tally.yaml: 1 while one run draws every source (up to render_shard_size), else ceil(sources / render_shard_size) + 1, the shards drawn at once plus the run that publishes the page after them. A number below that is refused at plan."
  default     = null

  validation {
    condition     = var.render_max_instances == null || try(var.render_max_instances >= 1 && var.render_max_instances <= 1000 && floor(var.render_max_instances) == var.render_max_instances, false)
    error_message = "The render_max_instances must be null (derived from the sources) or a whole number from 1 to 1000."
  }
}

variable "notification_emails" {
  type        = list(string)
  description = "Email addresses that receive Cloud Monitoring's alerts: the watchdog's (and the per-source policies', when per_source_alert_policies is on). tally's own notifications go to the `notify:` channels of tally.yaml instead. Empty: no email channel."
  default     = []

  validation {
    condition     = alltrue([for address in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "Every entry of notification_emails must be an email address."
  }
}

variable "watchdog_alert" {
  type        = bool
  description = "The one Cloud Monitoring alert condition tally deploys by default: no tally/ticks heartbeat of the collect function for 10 minutes (also a deployment that never ticked), no tally/renders heartbeat of the render function for 10 minutes past render_every, or deliveries to either function answered with no 2xx for 10 minutes; what tally cannot report about itself. Cloud Monitoring bills $1.50 a month per condition (plus $0.35 per million time series returned; docs/deploy.md, \"What it costs\"); false saves that and leaves the pipeline unwatched."
  default     = true
}

variable "per_source_alert_policies" {
  type        = bool
  description = "Also create a Cloud Monitoring alert policy per `alerts:` rule of tally.yaml (stale_after, above, below; change takes two conditions), besides tally's own notifications, which evaluate the same rules for free. Off by default because of the cost: Cloud Monitoring bills $1.50 a month per condition (plus $0.35 per million time series returned), e.g. 50 sources with a stale_after each cost $75 a month. At most 499 such policies (a project holds 500)."
  default     = false
}

variable "site_public" {
  type        = bool
  description = "Let anyone read the page's objects by name (allUsers gets storage.objects.get on the site bucket, never listing). false for an organisation that enforces public access prevention or domain-restricted sharing, where the allUsers binding is refused: the bucket then enforces public access prevention and only principals you grant can read the page."
  default     = true
}

variable "secrets_with_value" {
  type        = list(string)
  description = "Names of the `$${env:NAME}` secrets of tally.yaml whose value has been added (`gcloud secrets versions add`). Only these are bound to the collector: Cloud Run refuses to start with a secret that has no version. Values never pass through Terraform."
  default     = []

  validation {
    condition     = alltrue([for name in var.secrets_with_value : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", name))])
    error_message = "Every entry of secrets_with_value must be an environment variable name such as GITHUB_TOKEN."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "How long the daily Firestore backups are kept, in days (1-98)."
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 98 && floor(var.backup_retention_days) == var.backup_retention_days
    error_message = "The backup_retention_days must be a whole number from 1 to 98 (14 weeks, the Firestore maximum)."
  }
}

variable "point_in_time_recovery" {
  type        = bool
  description = "Firestore point-in-time recovery: any minute of the last 7 days can be read back (and exported), so a bad write or delete can be undone. Billed as storage beyond the free tier (docs/deploy.md, \"What it costs\"); false turns it off."
  default     = true
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the Secret Manager secrets (whose values were added by hand) from deletion: while true, an apply or destroy that would delete one stops with an error instead. Set false and apply before a destroy that should delete them too (docs/deploy.md, \"Tear down\")."
  default     = true
}
