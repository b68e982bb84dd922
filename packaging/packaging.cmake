# Debian packages, built with `cpack -G DEB` in a build configured for the system layout:
#
#   cmake -S . -B build-pkg -G Ninja -DOMNILOOP_PACKAGE_LAYOUT=ON -DCMAKE_INSTALL_PREFIX=/usr \
#         -DOMNILOOP_TESTS=OFF -DOMNILOOP_BENCH=OFF
#   cmake --build build-pkg && (cd build-pkg && cpack -G DEB)
#
# Two packages from the install components:
#   omniloop      (component runtime) omniloop, omniloopd, the bundled plugins in
#                 /usr/lib/omniloop/plugins, /etc/omniloop, the systemd unit, logrotate, the
#                 example pipelines in /usr/share/omniloop/pipelines, docs.
#   omniloop-dev  (component dev)     SDK headers and the CMake package for plugin vendors.
#
# Files with absolute destinations (/etc, /lib/systemd) are installed only with
# OMNILOOP_PACKAGE_LAYOUT=ON, so a plain `cmake --install build --prefix P` stays relocatable
# (P/bin, P/lib/omniloop/plugins, P/share/omniloop/pipelines).
option(OMNILOOP_PACKAGE_LAYOUT
       "Install the system files of the Debian package (/etc/omniloop, systemd unit, logrotate)" OFF)

set(OMNILOOP_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})

# Relocatable parts of the runtime package.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/pipelines/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/omniloop/pipelines COMPONENT runtime
        FILES_MATCHING PATTERN "*.yaml" PATTERN "*.md")
install(FILES ${OMNILOOP_PACKAGING_DIR}/copyright ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/omniloop COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/cli.md
              ${PROJECT_SOURCE_DIR}/docs/pipelines.md ${PROJECT_SOURCE_DIR}/docs/stages.md
              ${PROJECT_SOURCE_DIR}/docs/privacy.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/omniloop COMPONENT runtime OPTIONAL)

if(OMNILOOP_PACKAGE_LAYOUT)
  # The unit starts /usr/bin/omniloopd and the config names /usr-independent paths only.
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "OMNILOOP_PACKAGE_LAYOUT=ON needs -DCMAKE_INSTALL_PREFIX=/usr "
                        "(the systemd unit starts /usr/bin/omniloopd); it is ${CMAKE_INSTALL_PREFIX}")
  endif()
  # GNUInstallDirs maps the /usr prefix's sysconfdir to /etc.
  set(etc ${CMAKE_INSTALL_FULL_SYSCONFDIR})
  install(FILES ${OMNILOOP_PACKAGING_DIR}/omniloop.yaml
          DESTINATION ${etc}/omniloop COMPONENT runtime)
  install(FILES ${OMNILOOP_PACKAGING_DIR}/pipelines.d.README
          DESTINATION ${etc}/omniloop/pipelines.d RENAME README COMPONENT runtime)
  install(FILES ${OMNILOOP_PACKAGING_DIR}/logrotate
          DESTINATION ${etc}/logrotate.d RENAME omniloop COMPONENT runtime)
  install(FILES ${OMNILOOP_PACKAGING_DIR}/omniloop.service
          DESTINATION /lib/systemd/system COMPONENT runtime)
endif()

# ---- CPack ---------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME omniloop)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "omniloop contributors")
set(CPACK_PACKAGE_CONTACT "omniloop maintainers <maintainers@omniloop.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # <name>_<version>-<release>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME omniloop)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# Library dependencies come from dpkg-shlibdeps (dpkg-dev); the maintainer scripts need adduser.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "logrotate")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${OMNILOOP_PACKAGING_DIR}/debian/conffiles
    ${OMNILOOP_PACKAGING_DIR}/debian/postinst
    ${OMNILOOP_PACKAGING_DIR}/debian/prerm
    ${OMNILOOP_PACKAGING_DIR}/debian/postrm)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Descriptions: the first line is the synopsis; CPack indents the rest and turns empty lines into
# the " ." paragraph separator.
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "integration middleware: legacy systems into a CDP store
omniloop reads legacy systems (CSV and JSON exports, PBX call records, POS files, APIs)
through source plugins, runs YAML pipelines (map, filter, route) and writes customer
profiles and events into a CDP store.

This package holds the omniloop command, the omniloopd service with its systemd unit,
the bundled plugins, a default configuration in /etc/omniloop and example pipelines in
/usr/share/omniloop/pipelines.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME omniloop-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "omniloop")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "omniloop plugin SDK: headers and CMake package
Headers of the omniloop plugin C ABI and its C++ helpers, and the CMake package
(find_package(omniloop), omniloop_add_plugin) to build source and stage plugins
out of tree.")

include(CPack)
