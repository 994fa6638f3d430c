/**
 * Energy per device window and its attribution to models by busy time, with cost and carbon from
 * price and intensity tables; validates hardware samples before they enter the energy sub-topology.
 */
package io.infermeter.streams.energy;
