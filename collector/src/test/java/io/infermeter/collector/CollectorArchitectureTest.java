package io.infermeter.collector;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.infermeter.testsupport.ArchitectureRules;

/**
 * The collector's layering, checked on its compiled main classes.
 *
 * <p>Packages: the root ({@code io.infermeter.collector}) is the wiring: main, config, the {@code
 * Collector} that builds and closes everything. {@code ingest} takes request telemetry in (servers,
 * parsing, OTLP mapping, OTLP metrics, which reuse the Prometheus mappings of {@code sampling});
 * {@code sampling} reads the hardware (NVML, OSHI, RAPL, DCGM and engine scrapes); {@code delivery}
 * gets records to Kafka (publisher, spool, dead-letter redaction); {@code support} (metrics, byte
 * helpers) serves all of them and knows none. The three concerns do not call each other except
 * ingest's use of the sampling mappings: the wiring connects them.
 */
@AnalyzeClasses(
    packages = "io.infermeter.collector",
    importOptions = ImportOption.DoNotIncludeTests.class)
class CollectorArchitectureTest {

  static final String ROOT = "io.infermeter.collector";

  /**
   * Every package of the collector: a new one takes a row in {@link #concernsDependOneWay} first.
   */
  static final String[] PACKAGES = {
    ROOT, ROOT + ".ingest..", ROOT + ".sampling..", ROOT + ".delivery..", ROOT + ".support.."
  };

  @ArchTest static final ArchRule noOtherApp = ArchitectureRules.noOtherApp(ROOT);

  @ArchTest static final ArchRule noKafkaInternals = ArchitectureRules.noKafkaInternals(ROOT);

  @ArchTest
  static final ArchRule packagesFreeOfCycles = ArchitectureRules.subPackagesFreeOfCycles(ROOT);

  @ArchTest
  static final ArchRule everyPackageIsInTheTable =
      classes()
          .that()
          .resideInAPackage(ROOT + "..")
          .should()
          .resideInAnyPackage(PACKAGES)
          .because("a new package takes a row in the layer table of concernsDependOneWay");

  @ArchTest
  static final ArchRule onlyTheWiringUsesTheWiring =
      noClasses()
          .that()
          .resideInAPackage(ROOT + ".*..")
          .should()
          .dependOnClassesThat(resideInAPackage(ROOT))
          .because(
              "settings reach a concern as its own typed settings object, not as the collector's config");

  @ArchTest
  static final ArchRule concernsDependOneWay =
      layeredArchitecture()
          .consideringOnlyDependenciesInLayers()
          .layer("Wiring")
          .definedBy(resideInAPackage(ROOT))
          .layer("Ingest")
          .definedBy(ROOT + ".ingest..")
          .layer("Sampling")
          .definedBy(ROOT + ".sampling..")
          .layer("Delivery")
          .definedBy(ROOT + ".delivery..")
          .layer("Support")
          .definedBy(ROOT + ".support..")
          .whereLayer("Ingest")
          .mayOnlyAccessLayers("Sampling", "Support")
          .whereLayer("Sampling")
          .mayOnlyAccessLayers("Support")
          .whereLayer("Delivery")
          .mayOnlyAccessLayers("Support")
          .whereLayer("Support")
          .mayNotAccessAnyLayer()
          .because("the wiring connects the concerns; infrastructure knows none of them");
}
