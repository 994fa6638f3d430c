package io.infermeter.local.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;

import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * Stands in for the Quarkus extension {@code apicurio-common-app-components-config-index}, which the
 * wrapper excludes because it does not build from Maven Central alone. That extension would list, at
 * build time, the registry settings that can be changed at run time through the admin API; this
 * producer lists none, so every setting keeps the value it was started with. The registry itself,
 * including the Confluent-compatible API, is unaffected.
 */
final class EmptyDynamicConfigIndex {

    private EmptyDynamicConfigIndex() {
    }

    @Produces
    @Singleton
    static DynamicConfigPropertyList emptyDynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(java.util.List.of());
    }
}
