package io.infermeter.alerts;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.infermeter.testsupport.ArchitectureRules;

/**
 * The alert forwarder's layering, checked on its compiled main classes: no other app, no Kafka
 * internals, no cycle between its packages ({@link ArchitectureRules}).
 */
@AnalyzeClasses(
    packages = "io.infermeter.alerts",
    importOptions = ImportOption.DoNotIncludeTests.class)
class AlertForwarderArchitectureTest {

  static final String ROOT = "io.infermeter.alerts";

  @ArchTest static final ArchRule noOtherApp = ArchitectureRules.noOtherApp(ROOT);

  @ArchTest static final ArchRule noKafkaInternals = ArchitectureRules.noKafkaInternals(ROOT);

  @ArchTest
  static final ArchRule packagesFreeOfCycles = ArchitectureRules.subPackagesFreeOfCycles(ROOT);
}
