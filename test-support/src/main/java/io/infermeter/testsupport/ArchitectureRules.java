package io.infermeter.testsupport;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceRule;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The layering rules every app module's {@code *ArchitectureTest} checks with ArchUnit, declared
 * once.
 *
 * <ul>
 *   <li>An app (collector, streams app, sink, alert forwarder, report) depends on {@code schemas}
 *       and libraries, never on another app: the apps are deployed, versioned and scaled apart.
 *   <li>No main class uses a Kafka {@code internals} package ({@code
 *       org.apache.kafka.streams..internals..}, {@code org.apache.kafka.common..internals..}): they
 *       change without notice in minor releases. A module names its one deliberate adapter, if any,
 *       as an exception.
 *   <li>The packages below an app's root package are free of cycles: a cycle makes two concerns
 *       one, and neither can then be changed, tested or read alone. The root package is the app's
 *       wiring (main, settings, topology) and is left out of the slices: it uses every concern and
 *       is read by them for its settings.
 * </ul>
 *
 * <p>The Maven side of the first rule (which module may depend on which) is checked on the real
 * POMs by deploy-tests' {@code ModuleGraphTest}. Stateless and thread-safe.
 */
public final class ArchitectureRules {

  /** Root package of each app module, by module directory. */
  public static final Map<String, String> APP_PACKAGES =
      Map.of(
          "collector", "io.infermeter.collector",
          "streams-app", "io.infermeter.streams",
          "sink", "io.infermeter.sink",
          "alert-forwarder", "io.infermeter.alerts",
          "report", "io.infermeter.report");

  /** Kafka's internals packages, as ArchUnit package identifiers. */
  public static final List<String> KAFKA_INTERNALS =
      List.of("org.apache.kafka.streams..internals..", "org.apache.kafka.common..internals..");

  private static final Pattern INTERNALS_NAME =
      Pattern.compile("org\\.apache\\.kafka\\.(streams|common)(\\.\\w+)*\\.internals(\\..*)?");

  private ArchitectureRules() {}

  /** Classes of the app rooted at {@code ownPackage} depend on no class of another app. */
  public static ArchRule noOtherApp(String ownPackage) {
    String[] others =
        APP_PACKAGES.values().stream()
            .filter(p -> !p.equals(ownPackage))
            .map(p -> p + "..")
            .sorted()
            .toArray(String[]::new);
    if (others.length != APP_PACKAGES.size() - 1) {
      throw new IllegalArgumentException("not an app's root package: " + ownPackage);
    }
    return noClasses()
        .that()
        .resideInAPackage(ownPackage + "..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(others)
        .because(
            "an app depends on schemas and libraries only, never on another app (shared/STYLE.md, Layout)");
  }

  /**
   * No class of {@code ownPackage} but {@code adapters} depends on a Kafka internals package. A
   * public subclass of a package-private adapter gets javac's visibility bridge methods, which
   * repeat the adapter's signatures; those bridges are not counted against the subclass.
   */
  public static ArchRule noKafkaInternals(
      String ownPackage, DescribedPredicate<? super JavaClass> adapters) {
    return classes()
        .that()
        .resideInAPackage(ownPackage + "..")
        .and(DescribedPredicate.not(adapters))
        .should(notDependOnKafkaInternalsOutsideBridges())
        .because("Kafka's internals packages break on the next minor release; use the public API");
  }

  /** {@link #noKafkaInternals(String, DescribedPredicate)} for a module without an adapter. */
  public static ArchRule noKafkaInternals(String ownPackage) {
    return noKafkaInternals(ownPackage, DescribedPredicate.alwaysFalse());
  }

  /** Whether {@code c} (a class or one of its nested classes) is the class named {@code name}. */
  public static DescribedPredicate<JavaClass> classOrNested(String name) {
    return DescribedPredicate.describe(
        name, c -> c.getName().equals(name) || c.getName().startsWith(name + "$"));
  }

  /**
   * The packages below {@code rootPackage}, each one slice with its sub-packages, are free of
   * cycles.
   */
  public static SliceRule subPackagesFreeOfCycles(String rootPackage) {
    return slices().matching(rootPackage + ".(*)..").should().beFreeOfCycles();
  }

  /** The condition "depend on no Kafka internals class", ignoring javac's bridge methods. */
  static ArchCondition<JavaClass> notDependOnKafkaInternalsOutsideBridges() {
    return new ArchCondition<>("not depend on classes in " + KAFKA_INTERNALS) {
      @Override
      public void check(JavaClass c, ConditionEvents events) {
        Set<String> bridges =
            c.getCodeUnits().stream()
                .filter(u -> u.getModifiers().contains(JavaModifier.BRIDGE))
                .map(JavaCodeUnit::getDescription)
                .collect(Collectors.toSet());
        for (Dependency d : c.getDirectDependenciesFromSelf()) {
          if (isKafkaInternal(d.getTargetClass().getName()) && !fromOneOf(d, bridges)) {
            events.add(SimpleConditionEvent.violated(d, d.getDescription()));
          }
        }
      }
    };
  }

  static boolean isKafkaInternal(String className) {
    return INTERNALS_NAME.matcher(className).matches();
  }

  private static boolean fromOneOf(Dependency d, Set<String> codeUnitDescriptions) {
    String description = d.getDescription();
    return codeUnitDescriptions.stream().anyMatch(u -> description.startsWith(u + " "));
  }
}
