/**
 * Alert rules, their per-subject state (firing, streaks, staleness) and the alert records built
 * when a rule fires or resolves, for request, fleet and device windows.
 */
package io.infermeter.streams.alerts;
