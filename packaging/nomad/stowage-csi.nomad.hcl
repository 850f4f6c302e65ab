# Stowage as a Nomad CSI plugin: on every client, one `stowage csi` process per backing.
#
#   nomad job run -var 'backings=["efs","ebs"]' -var efs_file_system_id=fs-0123456789abcdef0 \
#     -var ebs_cluster_id=prod packaging/nomad/stowage-csi.nomad.hcl
#   nomad plugin status stowage-ebs
#
# Not validated by Nomad itself: no Nomad agent runs on the machines this project is built and tested on. The test
# packages/csi-adapter/test/packaging-manifests.test.ts parses this file with HashiCorp's HCL parser and checks what
# must agree with the adapter.
#
# Why a monolith system job rather than a controller job and a node job: the plugin advertises no ControllerPublish,
# so the controller only creates, deletes and lists volumes; attaching (EBS) and mounting happen in NodePublish on
# the node itself, which therefore needs the same cloud permissions as a controller would. A split would buy no
# separation of privileges, and one process per client keeps one state directory and one set of settings.
#
# Why one plugin per backing: NodeGetInfo's attach limit and topology are per plugin, and Nomad counts every volume
# of a plugin against them; an EBS limit must not count EFS volumes. So each backing in `backings` gets a group of its
# own: its own process, state directory and plugin id (stowage-<backing>).

variable "backings" {
  type        = list(string)
  default     = ["efs"]
  description = "The drivers to serve, one plugin each: efs (shared), ebs (relocatable), local (single-client clusters only)"
}

variable "image" {
  type        = string
  default     = "stowage:0.1.0"
  description = "An image made from the managed plugin's rootfs on each client (README.md, CSI plugin, Nomad)"
}

variable "ebs_cluster_id" {
  type        = string
  default     = ""
  description = "STOWAGE_EBS_CLUSTER_ID, required with the ebs backing"
}

variable "efs_file_system_id" {
  type        = string
  default     = ""
  description = "STOWAGE_EFS_FILE_SYSTEM_ID, required with the efs backing"
}

job "stowage-csi" {
  # One plugin process per backing on every client that may run a task using these volumes.
  type = "system"

  dynamic "group" {
    for_each = var.backings
    labels   = ["stowage-${group.value}"]

    content {
      task "plugin" {
        driver = "docker"

        config {
          image = var.image
          # The image is made on each client (no registry serves one): never try to pull it.
          force_pull = false
          entrypoint = ["/usr/local/bin/node", "/opt/stowage/dist/cli/main.js"]
          # No --endpoint: Nomad sets CSI_ENDPOINT to unix:///csi/csi.sock (mount_dir below), which `stowage csi` reads.
          args = ["csi", "--mode", "both", "--state-dir", "/var/lib/stowage-csi/${group.value}"]
          # Mounts (bind mounts onto Nomad's target paths, EBS file systems) need CAP_SYS_ADMIN and the host's devices;
          # the client's docker plugin configuration must have allow_privileged = true.
          privileged = true
          # The host's network: EC2 instance metadata (IMDSv2 answers one hop only) and the host's name as node id.
          network_mode = "host"

          # The engine's journal and mount table, and the EBS mount points, live on the host, so a restarted plugin
          # finds what it published; rshared so that mounts made here reach the host. Needs the docker plugin's
          # `volumes { enabled = true }` in the client's configuration.
          mount {
            type   = "bind"
            source = "/var/lib/stowage-csi"
            target = "/var/lib/stowage-csi"
            bind_options {
              propagation = "rshared"
            }
          }
        }

        csi_plugin {
          id        = "stowage-${group.value}"
          type      = "monolith"
          mount_dir = "/csi"
          # stage_publish_base_dir stays at Nomad's default: the plugin stages nothing, and Nomad mounts the
          # directory it publishes into with bidirectional propagation.
        }

        env {
          STOWAGE_DRIVERS   = group.value
          STOWAGE_LOG_LEVEL = "info"
          # An empty variable counts as unset, and a driver's variables are read only while that driver is enabled.
          STOWAGE_EBS_CLUSTER_ID     = var.ebs_cluster_id
          STOWAGE_EFS_FILE_SYSTEM_ID = var.efs_file_system_id
        }

        resources {
          cpu    = 200
          memory = 256
        }
      }
    }
  }
}
