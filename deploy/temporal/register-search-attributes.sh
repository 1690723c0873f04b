#!/bin/sh
# Registers the incident search attributes on the namespace (idempotent: an
# attribute that exists already is left as it is).
set -u
ns="${TEMPORAL_NAMESPACE:-default}"
for pair in IncidentService=Keyword IncidentNamespace=Keyword IncidentCluster=Keyword IncidentPhase=Keyword \
            IncidentSeverity=Keyword IncidentDiagnosis=Keyword IncidentNumber=Int AwaitingApproval=Bool MajorIncident=Keyword; do
  name="${pair%%=*}"; type="${pair#*=}"
  temporal operator search-attribute create --namespace "$ns" --name "$name" --type "$type" >/dev/null 2>&1 \
    && echo "registered $name ($type)" || echo "$name already registered (or not creatable yet)"
done
