# A relocatable (EBS) volume for `nomad volume create packaging/nomad/volume.hcl`, served by the stowage-ebs plugin
# of stowage-csi.nomad.hcl. Nomad sends CreateVolume to one of the plugin's controllers: `name` becomes the Stowage
# volume's name, `parameters` its create options, and the capacity range its `size` in GiB, rounded up.
# Not validated by Nomad itself (no Nomad agent runs where this project is tested); parsed by
# packages/csi-adapter/test/packaging-manifests.test.ts.
#
# A shared (EFS) volume is the same with plugin_id = "stowage-efs", parameters { backing = "efs" }, no capacity, and
# any access mode: multi-node-reader-only, multi-node-single-writer and multi-node-multi-writer as well.

id        = "db1"
name      = "db1"
type      = "csi"
plugin_id = "stowage-ebs"

capacity_min = "20GiB"
capacity_max = "20GiB"

# An EBS volume is attached to one instance at a time: single-node modes only; a multi-node one is refused.
capability {
  access_mode     = "single-node-writer"
  attachment_mode = "file-system"
}

capability {
  access_mode     = "single-node-reader-only"
  attachment_mode = "file-system"
}

# The backing's create options (README.md, Volume options). `backing` names the plugin's one backing; `size` comes
# from the capacity above.
parameters {
  backing = "ebs"
  ebstype = "gp3"
}
