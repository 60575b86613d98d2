{{- define "vcm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name: fullnameOverride, else <release>-<name> (or <release> when it contains the name). */}}
{{- define "vcm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the full name with a suffix, still a valid 63-character DNS label. */}}
{{- define "vcm.suffixed" -}}
{{- $full := include "vcm.fullname" .root -}}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix -}}
{{- end -}}

{{/* The image reference: repository@digest when image.digest is set, else repository:tag. */}}
{{- define "vcm.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "vcm.labels" -}}
app.kubernetes.io/name: {{ include "vcm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "vcm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vcm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vcm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vcm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The --controllers value from .Values.controllers. */}}
{{- define "vcm.controllers" -}}
{{- $c := list -}}
{{- if .Values.controllers.pvBinder }}{{ $c = append $c "pv-binder" }}{{ end -}}
{{- if .Values.controllers.pvcProtection }}{{ $c = append $c "pvc-protection" }}{{ end -}}
{{- if .Values.controllers.pvProtection }}{{ $c = append $c "pv-protection" }}{{ end -}}
{{- if .Values.controllers.attachDetach }}{{ $c = append $c "attach-detach" }}{{ end -}}
{{- if .Values.controllers.provisioner }}{{ $c = append $c "provisioner" }}{{ end -}}
{{- if .Values.controllers.attacher }}{{ $c = append $c "attacher" }}{{ end -}}
{{- join "," $c -}}
{{- end -}}

{{/*
Where the process may read Secrets: "cluster" (a ClusterRole rule), "namespaced" (a Role in each
of secrets.namespaces), or "" (none). Only the provisioner (StorageClass secrets) and the
attacher (controllerPublishSecretRef) read Secrets, and only when secrets.enabled.
*/}}
{{- define "vcm.secretsAccess" -}}
{{- if and .Values.secrets.enabled (or .Values.controllers.provisioner .Values.controllers.attacher) -}}
{{- if .Values.secrets.namespaces -}}namespaced{{- else -}}cluster{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The cluster-wide permissions of the enabled controllers, merged: one rule per (API group,
resource) with the union of the verbs the code uses. Each line below is proven by the
end-to-end RBAC test (test/e2e/rbac.test.ts): every verb is exercised and nothing else is used.
*/}}
{{- define "vcm.clusterRules" -}}
{{- $r := dict -}}
{{- $add := list -}}
{{- $c := .Values.controllers -}}
{{- if $c.pvBinder -}}
{{- $add = concat $add (list
  (list "" "persistentvolumes" "get,list,watch,patch")
  (list "" "persistentvolumes/status" "patch")
  (list "" "persistentvolumeclaims" "get,list,watch,patch")
  (list "" "persistentvolumeclaims/status" "patch")
  (list "storage.k8s.io" "storageclasses" "list,watch")
  (list "" "pods" "list,watch")) -}}
{{- end -}}
{{- if $c.pvcProtection -}}
{{- $add = concat $add (list (list "" "persistentvolumeclaims" "list,watch,patch") (list "" "pods" "list,watch")) -}}
{{- end -}}
{{- if $c.pvProtection -}}
{{- $add = concat $add (list (list "" "persistentvolumes" "list,watch,patch")) -}}
{{- end -}}
{{- if $c.provisioner -}}
{{- $add = concat $add (list
  (list "" "persistentvolumeclaims" "list,watch,patch")
  (list "" "persistentvolumes" "get,list,watch,create,delete,patch")
  (list "storage.k8s.io" "storageclasses" "list,watch")
  (list "" "nodes" "list,watch")
  (list "storage.k8s.io" "csinodes" "list,watch")
  (list "storage.k8s.io" "volumeattachments" "list,watch")
  (list "snapshot.storage.k8s.io" "volumesnapshots" "get")
  (list "snapshot.storage.k8s.io" "volumesnapshotcontents" "get")) -}}
{{- end -}}
{{- if $c.attachDetach -}}
{{- $add = concat $add (list
  (list "" "pods" "list,watch")
  (list "" "nodes" "list,watch")
  (list "" "nodes/status" "patch")
  (list "" "persistentvolumeclaims" "list,watch")
  (list "" "persistentvolumes" "list,watch")
  (list "storage.k8s.io" "csidrivers" "list,watch")
  (list "storage.k8s.io" "volumeattachments" "list,watch,create,delete")) -}}
{{- end -}}
{{- if $c.attacher -}}
{{- $add = concat $add (list
  (list "storage.k8s.io" "volumeattachments" "list,watch,patch")
  (list "storage.k8s.io" "volumeattachments/status" "patch")
  (list "" "persistentvolumes" "list,watch,patch")
  (list "storage.k8s.io" "csinodes" "list,watch")) -}}
{{- end -}}
{{- if .Values.builtinDriver.enabled -}}
{{- $add = concat $add (list (list "storage.k8s.io" "csinodes" "list,watch")) -}}
{{- end -}}
{{- if eq (include "vcm.secretsAccess" .) "cluster" -}}
{{- $add = concat $add (list (list "" "secrets" "get")) -}}
{{- end -}}
{{- $add = concat $add (list (list "" "events" "create,patch")) -}}
{{- range $add -}}
{{- $key := printf "%s|%s" (index . 0) (index . 1) -}}
{{- $verbs := concat (get $r $key | default list) (splitList "," (index . 2)) | uniq -}}
{{- $_ := set $r $key $verbs -}}
{{- end -}}
{{- range $key := keys $r | sortAlpha }}
{{- $parts := splitList "|" $key }}
- apiGroups: [{{ index $parts 0 | quote }}]
  resources: [{{ index $parts 1 | quote }}]
  verbs: [{{ range $i, $v := get $r $key | sortAlpha }}{{ if $i }}, {{ end }}{{ $v | quote }}{{ end }}]
{{- end }}
{{- with .Values.additionalClusterRoleRules }}
{{ toYaml . }}
{{- end }}
{{- end -}}
