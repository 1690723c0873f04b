// The SLA budget of new incidents from the receiver's environment: the customer
// notification goes out when the outage has lasted the budget less its warning.
import { describe, expect, it } from 'vitest';
import { loadClientConfig } from '../../client/config.js';
import { checkIncidentPolicy, incidentInputFor } from '../../client/incidents.js';
import { IncidentInputSchema } from '../../workflows/input.js';

const service = { cluster: 'local', namespace: 'default', deployment: 'agent-native-framework' };
const alert = { name: 'ServiceDown', severity: 'critical', summary: '', labels: {}, startsAt: '2026-01-01T00:00:00Z', fingerprint: 'fp' } as const;

describe('the SLA budget of new incidents', () => {
  it('is 60 min with a 15 min warning unless INCIDENT_SLA_BUDGET and INCIDENT_SLA_WARNING say otherwise', () => {
    const defaults = IncidentInputSchema.parse(incidentInputFor(loadClientConfig({}), service, alert));
    expect(defaults.customers).toMatchObject({ slaBudget: 60 * 60_000, slaWarning: 15 * 60_000 });
    const set = IncidentInputSchema.parse(incidentInputFor(loadClientConfig({ INCIDENT_SLA_BUDGET: '4h', INCIDENT_SLA_WARNING: '30m' }), service, alert));
    expect(set.customers).toMatchObject({ slaBudget: 4 * 3_600_000, slaWarning: 30 * 60_000 });
  });

  it('refuses a warning that does not come before the budget is spent, at start-up', () => {
    expect(() => checkIncidentPolicy(loadClientConfig({ INCIDENT_SLA_BUDGET: '30m', INCIDENT_SLA_WARNING: '30m' }))).toThrow(
      /customers\.slaWarning: the SLA warning must come before the budget is spent/,
    );
  });
});
