{{/* The chart's name. */}}
{{- define "lookout.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: <release>-<chart>, or the release alone when it holds the chart's name. */}}
{{- define "lookout.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "lookout.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "lookout.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The labels the DaemonSet selects its pods by. */}}
{{- define "lookout.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lookout.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The service account's name. */}}
{{- define "lookout.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lookout.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "lookout.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The agent's configuration (docs/configuration.md, docs/container.md). */}}
{{- define "lookout.config" -}}
{{- if .Values.config -}}
{{ .Values.config }}
{{- else -}}
# Written by the lookout chart. The host's /, /proc and /sys are mounted read-only under /host.
host:
  root: /host
server:
  # the kubelet's probes reach the pod's IP
  listen: 0.0.0.0:{{ .Values.server.port }}
policy:
  allow_public_listeners: true
log:
  format: json
resource:
  # the node's name (the container's own host name is the pod's)
  hostname: ${env:NODE_NAME}
kubernetes:
  enabled: {{ .Values.kubernetes.enabled }}
  interval: {{ .Values.kubernetes.interval }}
  {{- with .Values.kubernetes.allowedSecrets }}
  allowed_secrets: {{ toJson . }}
  {{- end }}
{{- $inputs := list "host" }}
{{- if .Values.processMetrics.enabled }}{{ $inputs = append $inputs "processes" }}{{ end }}
sources:
  host:
    type: host_metrics
    interval: {{ .Values.interval }}
  {{- if .Values.processMetrics.enabled }}
  processes:
    type: process_metrics
    interval: {{ .Values.interval }}
  {{- end }}
sinks:
  prometheus:
    type: prometheus
    inputs: {{ toJson $inputs }}
    path: /metrics/host
  {{- with .Values.otlp.endpoint }}
  otlp:
    type: otlp_http
    inputs: {{ toJson $inputs }}
    endpoint: {{ . | quote }}
    compression: {{ $.Values.otlp.compression }}
    temporality: {{ $.Values.otlp.temporality }}
    {{- if $.Values.otlp.existingSecret }}
    headers:
      {{ $.Values.otlp.header }}: ${env:LOOKOUT_LICENSE_KEY}
    {{- end }}
  {{- end }}
{{- end -}}
{{- end -}}
