{{/*
Checks JSON schema cannot express (it cannot compare two values): each failure stops
`helm install/upgrade/template` with a message naming the values to fix. Included once, from
deployment.yaml. Each rule has a negative case in test/e2e/chart.test.ts.
*/}}

{{/* Milliseconds in a Go duration string ("1m30s", "500ms"); the schema has checked its form. */}}
{{- define "vcm.durationMs" -}}
{{- $units := dict "ns" 0.000001 "us" 0.001 "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]*\\.?[0-9]+(ns|us|ms|s|m|h)" (toString .) -1 -}}
{{- $n := regexFind "^[0-9]*\\.?[0-9]+" . -}}
{{- $total = addf $total (mulf $n (get $units (trimPrefix $n .))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* Bytes in a resource quantity ("512Mi", "1G", "500m", or a number); the schema has checked its form. */}}
{{- define "vcm.quantityBytes" -}}
{{- if kindIs "string" . -}}
{{- $units := dict "" 1.0 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- $n := regexFind "^[0-9]*\\.?[0-9]+" . -}}
{{- mulf $n (get $units (trimPrefix $n .)) -}}
{{- else -}}
{{- float64 . -}}
{{- end -}}
{{- end -}}

{{/*
The smallest memory limit accepted (bytes): 192Mi. The compiled process holds ~150Mi resident
once its caches have synced on an empty cluster (measured on Node 24), and more as they fill.
*/}}
{{- define "vcm.minMemoryBytes" -}}201326592{{- end -}}

{{- define "vcm.validate" -}}
{{- $v := .Values -}}
{{- $le := $v.leaderElection -}}
{{- if $le.enabled -}}
{{- $lease := include "vcm.durationMs" $le.leaseDuration | float64 -}}
{{- $renew := include "vcm.durationMs" $le.renewDeadline | float64 -}}
{{- $retry := include "vcm.durationMs" $le.retryPeriod | float64 -}}
{{- if ge $renew $lease -}}
{{- fail (printf "leaderElection.renewDeadline (%s) must be shorter than leaderElection.leaseDuration (%s): the process refuses to start otherwise, as client-go does" $le.renewDeadline $le.leaseDuration) -}}
{{- end -}}
{{- if or (le $retry 0.0) (ge $retry $renew) -}}
{{- fail (printf "leaderElection.retryPeriod (%s) must be above 0 and shorter than leaderElection.renewDeadline (%s): the process refuses to start otherwise, as client-go does" $le.retryPeriod $le.renewDeadline) -}}
{{- end -}}
{{- else if gt (int $v.replicaCount) 1 -}}
{{- fail (printf "leaderElection.enabled=false needs replicaCount: 1 (got %v): without the Lease every replica runs the controllers and they fight over the same objects" $v.replicaCount) -}}
{{- end -}}
{{- $c := $v.controllers -}}
{{- if not (or $c.pvBinder $c.pvcProtection $c.pvProtection $c.attachDetach $c.provisioner $c.attacher) -}}
{{- fail "controllers: every loop is disabled; enable at least one (or uninstall the release)" -}}
{{- end -}}
{{- $limits := (($v.resources).limits) | default dict -}}
{{- $requests := (($v.resources).requests) | default dict -}}
{{- if hasKey $limits "memory" -}}
{{- $lim := include "vcm.quantityBytes" $limits.memory | float64 -}}
{{- if lt $lim (include "vcm.minMemoryBytes" . | float64) -}}
{{- fail (printf "resources.limits.memory (%v) is below 192Mi: the process holds ~150Mi resident once its caches have synced on an empty cluster and would be OOM-killed (mind the units: 512Mi, not 512 or 512m); 512Mi is a sound limit" $limits.memory) -}}
{{- end -}}
{{- if and (hasKey $requests "memory") (gt (include "vcm.quantityBytes" $requests.memory | float64) $lim) -}}
{{- fail (printf "resources.requests.memory (%v) exceeds resources.limits.memory (%v)" $requests.memory $limits.memory) -}}
{{- end -}}
{{- end -}}
{{- $pdb := $v.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt (int $v.replicaCount) 1) (not (kindIs "invalid" $pdb.minAvailable)) -}}
{{- if ge (int $pdb.minAvailable) (int $v.replicaCount) -}}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below replicaCount (%v): otherwise no pod may ever be evicted and every node drain blocks" $pdb.minAvailable $v.replicaCount) -}}
{{- end -}}
{{- end -}}
{{- if $v.nodePlugin.enabled -}}
{{- if not $v.builtinDriver.enabled -}}
{{- fail "nodePlugin.enabled needs builtinDriver.enabled: the node plugin serves the built-in driver's volumes, which only its controller creates" -}}
{{- end -}}
{{- if not $v.builtinDriver.existingClaim -}}
{{- fail "nodePlugin.enabled needs builtinDriver.existingClaim: the node plugins must see the controller's data directory, so both mount one ReadWriteMany PersistentVolumeClaim (an NFS export or any shared filesystem); a per-pod emptyDir is invisible to the nodes" -}}
{{- end -}}
{{- end -}}
{{- if eq (int $v.metrics.port) (int $v.healthProbe.port) -}}
{{- fail (printf "metrics.port and healthProbe.port are both %v: give them different ports" $v.metrics.port) -}}
{{- end -}}
{{- end -}}
