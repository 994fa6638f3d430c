package io.infermeter.streams;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.infermeter.testsupport.ArchitectureRules;
import java.util.Set;

/**
 * The streams app's layering, checked on its compiled main classes.
 *
 * <p>Packages: the root ({@code io.infermeter.streams}) is the wiring: main, settings, topology,
 * serdes and stores. {@code windows} is time (window table, lateness, closing, the per-window
 * accumulator); the concerns {@code latency}, {@code engine}, {@code alerts}, {@code energy} and
 * {@code bottleneck} compute metrics over windows; {@code state} (stores, codecs) and {@code
 * support} (counters, dead letters) are infrastructure and know no concern. A concern reaches
 * another only through its public types (javac enforces the visibility) and only in the direction
 * of the table in {@link #concernsDependOneWay}.
 *
 * <p>Allowed today, until the processors that compose the concerns leave {@code windows} (issue 17,
 * item 1): the window processors and the accumulator in {@code windows} call into {@code latency},
 * {@code alerts} and {@code energy} ({@link #COMPOSITION}), which closes cycles
 * windows&lt;-&gt;latency, windows&lt;-&gt;alerts and windows&lt;-&gt;energy. Those edges, and only
 * those, are ignored; {@link #compositionStillNeedsTheException} fails once one of them is gone, so
 * that the exception is dropped rather than kept stale.
 */
@AnalyzeClasses(
    packages = "io.infermeter.streams",
    importOptions = ImportOption.DoNotIncludeTests.class)
class StreamsArchitectureTest {

  static final String ROOT = "io.infermeter.streams";

  /** Every package of the app: a new one takes a row in {@link #concernsDependOneWay} first. */
  static final String[] PACKAGES = {
    ROOT,
    ROOT + ".windows..",
    ROOT + ".latency..",
    ROOT + ".engine..",
    ROOT + ".alerts..",
    ROOT + ".energy..",
    ROOT + ".bottleneck..",
    ROOT + ".state..",
    ROOT + ".support.."
  };

  /** The one adapter to Kafka Streams internals (its Javadoc says which hook and why). */
  static final String ADAPTER = ROOT + ".state.WriteBehindStore";

  /**
   * Classes of {@code windows} that compose the concerns: their calls into the concerns are the
   * allowed cycle.
   */
  static final Set<String> COMPOSITION =
      Set.of(
          ROOT + ".windows.RequestAccumulator",
          ROOT + ".windows.RequestAccumulatorCodec",
          ROOT + ".windows.WindowAggregates",
          ROOT + ".windows.RequestWindowProcessor",
          ROOT + ".windows.FleetRollupProcessor");

  static final DescribedPredicate<JavaClass> COMPOSING =
      describe(
          "the composition classes of windows",
          c -> COMPOSITION.contains(c.getName().replaceFirst("\\$.*", "")));

  static final DescribedPredicate<JavaClass> OTHER_CONCERN_THAN_WINDOWS =
      resideInAnyPackage(
          ROOT + ".latency..",
          ROOT + ".engine..",
          ROOT + ".alerts..",
          ROOT + ".energy..",
          ROOT + ".bottleneck..");

  @ArchTest static final ArchRule noOtherApp = ArchitectureRules.noOtherApp(ROOT);

  @ArchTest
  static final ArchRule noKafkaInternalsButTheAdapter =
      ArchitectureRules.noKafkaInternals(ROOT, ArchitectureRules.classOrNested(ADAPTER));

  @ArchTest
  static final ArchRule theAdapterStillNeedsInternals =
      classes()
          .that(ArchitectureRules.classOrNested(ADAPTER))
          .and()
          .areTopLevelClasses()
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(ArchitectureRules.KAFKA_INTERNALS.toArray(String[]::new))
          .because(
              "an adapter that no longer needs Kafka internals loses its exception (drop it from this test)");

  @ArchTest
  static final ArchRule packagesFreeOfCycles =
      ArchitectureRules.subPackagesFreeOfCycles(ROOT)
          .ignoreDependency(COMPOSING, OTHER_CONCERN_THAN_WINDOWS);

  @ArchTest
  static final ArchRule everyPackageIsInTheTable =
      classes()
          .that()
          .resideInAPackage(ROOT + "..")
          .should()
          .resideInAnyPackage(PACKAGES)
          .because("a new package takes a row in the layer table of concernsDependOneWay");

  @ArchTest
  static final ArchRule infrastructureKnowsNoConcern =
      classes()
          .that()
          .resideInAnyPackage(ROOT + ".state..", ROOT + ".support..")
          .should()
          .onlyDependOnClassesThat(
              resideOutsideOfPackage(ROOT + "..")
                  .or(resideInAnyPackage(ROOT, ROOT + ".state..", ROOT + ".support..")))
          .because(
              "stores, codecs and counters serve every concern; a new metric touches its concern only");

  @ArchTest
  static final ArchRule concernsDependOneWay =
      layeredArchitecture()
          .consideringOnlyDependenciesInLayers()
          .withOptionalLayers(true)
          .layer("Wiring")
          .definedBy(resideInAPackage(ROOT))
          .layer("Energy")
          .definedBy(ROOT + ".energy..")
          .layer("Alerts")
          .definedBy(ROOT + ".alerts..")
          .layer("Bottleneck")
          .definedBy(ROOT + ".bottleneck..")
          .layer("Engine")
          .definedBy(ROOT + ".engine..")
          .layer("Latency")
          .definedBy(ROOT + ".latency..")
          .layer("Windows")
          .definedBy(ROOT + ".windows..")
          .layer("State")
          .definedBy(ROOT + ".state..")
          .layer("Support")
          .definedBy(ROOT + ".support..")
          .whereLayer("Energy")
          .mayOnlyAccessLayers(
              "Alerts", "Bottleneck", "Engine", "Windows", "State", "Support", "Wiring")
          .whereLayer("Alerts")
          .mayOnlyAccessLayers("Latency", "Windows", "State", "Support", "Wiring")
          .whereLayer("Bottleneck")
          .mayOnlyAccessLayers("State", "Support", "Wiring")
          .whereLayer("Engine")
          .mayOnlyAccessLayers("Windows", "State", "Support", "Wiring")
          .whereLayer("Latency")
          .mayOnlyAccessLayers("Windows", "State", "Support", "Wiring")
          .whereLayer("Windows")
          .mayOnlyAccessLayers("State", "Support", "Wiring")
          .whereLayer("State")
          .mayOnlyAccessLayers("Support")
          .whereLayer("Support")
          .mayOnlyAccessLayers("Wiring")
          .ignoreDependency(COMPOSING, OTHER_CONCERN_THAN_WINDOWS)
          .because(
              "a concern builds on windows and on the concerns below it, never on one above it");

  @ArchTest
  static final ArchRule compositionStillNeedsTheException =
      classes()
          .that(COMPOSING)
          .and()
          .areTopLevelClasses()
          .should()
          .dependOnClassesThat(OTHER_CONCERN_THAN_WINDOWS)
          .because(
              "a composition class that no longer calls into a concern loses its exception (drop it from COMPOSITION)");
}
