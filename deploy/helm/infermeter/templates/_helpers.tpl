{{/* Name of an app's objects: <release>-<app> unless the release is already called infermeter*. */}}
{{- define "infermeter.fullname" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}
{{- if hasPrefix "infermeter" $root.Release.Name -}}
{{- printf "%s-%s" $root.Release.Name $app | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-infermeter-%s" $root.Release.Name $app | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of an app (stable across upgrades). */}}
{{- define "infermeter.selectorLabels" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}
app.kubernetes.io/name: infermeter-{{ $app }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end -}}

{{/* All labels of an app's objects. */}}
{{- define "infermeter.labels" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}
{{ include "infermeter.selectorLabels" . }}
app.kubernetes.io/component: {{ $app }}
app.kubernetes.io/part-of: infermeter
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Image of an app: [registry/]repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "infermeter.image" -}}
{{- $root := index . 0 -}}{{- $key := index . 1 -}}
{{- $repo := index $root.Values.image.repositories $key -}}
{{- $tag := $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $root.Values.image.registry) $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* Name of the ConfigMap every app loads. */}}
{{- define "infermeter.configName" -}}
{{- include "infermeter.fullname" (list . "config") -}}
{{- end -}}

{{/*
Kafka security environment (TLS trust/key store, SASL JAAS line from Secrets) of an app: (root, prefix). The
prefix is KAFKA (key kafka.*, every client of the app) or a client's own, e.g. KAFKA_CONSUMER for an app that reads
kafka.consumer.* only; such an app also gets the security protocol under its prefix.
*/}}
{{- define "infermeter.kafkaSecurityEnv" -}}
{{- $root := index . 0 -}}{{- $p := printf "INFERMETER_%s" (index . 1) -}}
{{- $k := $root.Values.kafka -}}
{{- if ne $p "INFERMETER_KAFKA" }}
- name: {{ $p }}_SECURITY_PROTOCOL
  value: {{ $k.securityProtocol | quote }}
{{- end }}
{{- if hasPrefix "SASL_" $k.securityProtocol }}
- name: {{ $p }}_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: {{ $p }}_SASL_JAAS_CONFIG
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.existingSecret is required with a SASL_* kafka.securityProtocol" $k.sasl.existingSecret }}
      key: {{ $k.sasl.jaasConfigKey }}
{{- end }}
{{- if $k.tls.existingSecret }}
- name: {{ $p }}_SSL_TRUSTSTORE_TYPE
  value: PKCS12
- name: {{ $p }}_SSL_TRUSTSTORE_LOCATION
  value: /etc/infermeter/kafka-tls/{{ $k.tls.truststoreKey }}
- name: {{ $p }}_SSL_TRUSTSTORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $k.tls.existingSecret }}
      key: {{ $k.tls.truststorePasswordKey }}
{{- if $k.tls.keystoreKey }}
- name: {{ $p }}_SSL_KEYSTORE_TYPE
  value: PKCS12
- name: {{ $p }}_SSL_KEYSTORE_LOCATION
  value: /etc/infermeter/kafka-tls/{{ $k.tls.keystoreKey }}
- name: {{ $p }}_SSL_KEYSTORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $k.tls.existingSecret }}
      key: {{ required "kafka.tls.keystorePasswordKey is required with kafka.tls.keystoreKey" $k.tls.keystorePasswordKey }}
{{- end }}
{{- else if or (eq $k.securityProtocol "SSL") (eq $k.securityProtocol "SASL_SSL") }}
{{- fail "kafka.tls.existingSecret is required with kafka.securityProtocol SSL or SASL_SSL (the brokers' CA as a PKCS12 trust store)" }}
{{- end }}
{{- end -}}

{{/* Volume mount and volume of the Kafka TLS Secret, when one is set. */}}
{{- define "infermeter.kafkaTlsMount" -}}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/infermeter/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}
{{- define "infermeter.kafkaTlsVolume" -}}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Metrics listener and the JVM options of an app container: (root, port, javaOpts). */}}
{{- define "infermeter.metricsEnv" -}}
{{- $root := index . 0 -}}
- name: INFERMETER_METRICS_HOST
  value: "0.0.0.0"
- name: INFERMETER_METRICS_PORT
  value: {{ index . 1 | quote }}
- name: JAVA_OPTS
  value: {{ index . 2 | quote }}
{{- end -}}

{{/* Liveness on /-/healthy and readiness on /-/ready, on the container port named metrics. */}}
{{- define "infermeter.probes" -}}
livenessProbe:
  httpGet:
    path: /-/healthy
    port: metrics
  {{- toYaml .Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /-/ready
    port: metrics
  {{- toYaml .Values.probes.readiness | nindent 2 }}
{{- end -}}

{{/* Headless metrics Service of an app (every pod scraped individually): (root, app, port). */}}
{{- define "infermeter.metricsService" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "infermeter.fullname" (list $root $app) }}-metrics
  labels:
    {{- include "infermeter.labels" (list $root $app) | nindent 4 }}
    infermeter.io/metrics: "true"
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ index . 2 | quote }}
    prometheus.io/path: /metrics
spec:
  clusterIP: None
  # scraped (and resolvable) while starting or restoring
  publishNotReadyAddresses: true
  selector:
    {{- include "infermeter.selectorLabels" (list $root $app) | nindent 4 }}
  ports:
    - name: metrics
      port: {{ index . 2 }}
      targetPort: metrics
      protocol: TCP
{{- end -}}

{{/* PodDisruptionBudget: voluntary disruptions take one replica at a time: (root, app). */}}
{{- define "infermeter.pdb" -}}
{{- $root := index . 0 -}}{{- $app := index . 1 -}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "infermeter.fullname" (list $root $app) }}
  labels:
    {{- include "infermeter.labels" (list $root $app) | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "infermeter.selectorLabels" (list $root $app) | nindent 6 }}
{{- end -}}
