#!/bin/bash
# plugin.sh - DevStack plugin for zun-vk, the virtual kubelet for Zun
#
# In local.conf, after the zun plugin:
#
#   enable_plugin zun-vk <repository> [branch]

# Save trace setting
_XTRACE_ZUN_VK_PLUGIN=$(set +o | grep xtrace)
set -o xtrace

source $(dirname ${BASH_SOURCE[0]})/lib/zun-vk
source $(dirname ${BASH_SOURCE[0]})/lib/zun-vk-pki
source $(dirname ${BASH_SOURCE[0]})/lib/zun-vk-agent

if is_service_enabled zun-vk || zun_vk_serves_zun_compute || \
        zun_vk_runs_agent; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing zun-vk"
        install_zun_vk

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        if is_service_enabled zun-vk; then
            echo_summary "Configuring zun-vk"
            if is_service_enabled key; then
                create_zun_vk_accounts
            fi
            configure_zun_vk
        fi
        if zun_vk_serves_zun_compute; then
            echo_summary "Configuring zun-compute for zun-vk"
            configure_zun_compute_for_zun_vk
        fi
        if zun_vk_runs_agent; then
            echo_summary "Configuring zun-vk-agent"
            configure_zun_vk_agent
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        # The agent first: zun-vk's first logs and volumes go to it.
        if zun_vk_runs_agent; then
            echo_summary "Starting zun-vk-agent"
            start_zun_vk_agent
        fi
        if is_service_enabled zun-vk; then
            echo_summary "Starting zun-vk"
            start_zun_vk
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_zun_vk
        stop_zun_vk_agent
    fi

    if [[ "$1" == "clean" ]]; then
        if zun_vk_runs_agent; then
            cleanup_zun_vk_agent
        fi
        cleanup_zun_vk
    fi
fi

# Restore xtrace
$_XTRACE_ZUN_VK_PLUGIN
