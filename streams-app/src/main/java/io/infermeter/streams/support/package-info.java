/**
 * Cross-cutting helpers of the processors: the app's counters and the dead-letter records sent for
 * poison input.
 */
package io.infermeter.streams.support;
