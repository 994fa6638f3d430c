package io.infermeter.streams.energy;

import io.infermeter.avro.PriceUpdate;
import io.infermeter.streams.StreamsSettings;
import java.util.Optional;

/**
 * Cost and carbon concern. Cost of a device window = price per device-hour (price-update topic when
 * enabled and effective, else the configured table, else the default) x window hours. Carbon = IT
 * energy x PUE (facility energy, kWh) x grid intensity of the host's region over the window (the
 * intensity topic's time series when enabled, see {@link CarbonHistory}, else the table, else the
 * default, CodeCarbon's world average 475 g/kWh). Stateless.
 */
public final class CostCarbon {

  public static final double JOULES_PER_KWH = 3.6e6;

  private CostCarbon() {}

  /** Intensity used and where it came from (topic, table or default). */
  public record Intensity(double gramsPerKwh, String source) {}

  /**
   * The price of one device-hour of {@code gpuType}: the update when it is effective at the window
   * start and in the configured currency ({@code cost.currency}; an update in another currency is
   * never mixed in), else the table.
   */
  public static double pricePerHour(
      StreamsSettings s, String gpuType, Optional<PriceUpdate> update, long windowStartUs) {
    if (usable(s, update, windowStartUs)) {
      return update.get().getPricePerHour();
    }
    return s.pricePerHour(gpuType);
  }

  /** Whether {@code update} is effective at the window start and in the configured currency. */
  public static boolean usable(
      StreamsSettings s, Optional<PriceUpdate> update, long windowStartUs) {
    return update.isPresent()
        && update.get().getEffectiveFromUs() <= windowStartUs
        && s.currency().equalsIgnoreCase(update.get().getCurrency());
  }

  public static double cost(double pricePerHour, long windowSizeMs) {
    return pricePerHour * windowSizeMs / 3_600_000.0;
  }

  /**
   * The intensity of {@code region} when the carbon-intensity topic has no point in force: the
   * configured table, else the default.
   */
  public static Intensity fallback(StreamsSettings s, String region) {
    Optional<Double> t = s.carbonIntensity(region);
    return t.map(v -> new Intensity(v, "table"))
        .orElseGet(() -> new Intensity(s.defaultCarbonIntensity(), "default"));
  }

  /** Facility energy in kWh from IT energy in joules. */
  public static double facilityKwh(double itEnergyJ, double pue) {
    return itEnergyJ * pue / JOULES_PER_KWH;
  }

  public static double carbonG(double itEnergyJ, double pue, double gramsPerKwh) {
    return facilityKwh(itEnergyJ, pue) * gramsPerKwh;
  }
}
