"""The agent registry: every agent use case, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.policies.agent_url import AgentUrlPolicy
from restosync_core.ports.agents import AgentTokenCache, TokenHasher
from restosync_core.ports.alerts import AlertSink
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.authenticate_agent import AuthenticateAgent
from restosync_core.use_cases.check_agent_health import CheckAgentHealth
from restosync_core.use_cases.deregister_agent import DeregisterAgent
from restosync_core.use_cases.get_agent import GetAgent
from restosync_core.use_cases.list_agents import ListAgents
from restosync_core.use_cases.record_agent_heartbeat import RecordAgentHeartbeat
from restosync_core.use_cases.register_agent import RegisterAgent
from restosync_core.use_cases.update_agent import UpdateAgent


@dataclass(frozen=True, slots=True)
class AgentRegistry:
    register: RegisterAgent
    authenticate: AuthenticateAgent
    heartbeat: RecordAgentHeartbeat
    deregister: DeregisterAgent
    get: GetAgent
    list_agents: ListAgents
    update: UpdateAgent
    check_health: CheckAgentHealth

    @classmethod
    def build(
        cls,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: TokenHasher,
        tokens: AgentTokenCache,
        alerts: AlertSink,
        *,
        heartbeat_flush_seconds: float = 0.0,
        agent_url_policy: AgentUrlPolicy | None = None,
    ) -> AgentRegistry:
        """``heartbeat_flush_seconds`` > 0 coalesces heartbeats into one write per interval;
        ``agent_url_policy`` decides which agent URLs may be registered (default: ``AgentUrlPolicy()``)."""
        url_policy = agent_url_policy or AgentUrlPolicy()
        return cls(
            register=RegisterAgent(uow, hasher, tokens, clock, url_policy),
            authenticate=AuthenticateAgent(uow, hasher, tokens),
            heartbeat=RecordAgentHeartbeat(uow, clock, flush_interval=heartbeat_flush_seconds),
            deregister=DeregisterAgent(uow, tokens, clock),
            get=GetAgent(uow, clock),
            list_agents=ListAgents(uow, clock),
            update=UpdateAgent(uow, clock, url_policy),
            check_health=CheckAgentHealth(uow, clock, alerts),
        )
