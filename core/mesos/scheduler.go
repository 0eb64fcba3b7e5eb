package mesos

// Scheduler call types (mesos.v1.scheduler.Call.Type).
const (
	CallSubscribe                  = "SUBSCRIBE"
	CallTeardown                   = "TEARDOWN"
	CallAccept                     = "ACCEPT"
	CallDecline                    = "DECLINE"
	CallRevive                     = "REVIVE"
	CallKill                       = "KILL"
	CallShutdown                   = "SHUTDOWN"
	CallAcknowledge                = "ACKNOWLEDGE"
	CallReconcile                  = "RECONCILE"
	CallMessage                    = "MESSAGE"
	CallRequest                    = "REQUEST"
	CallSuppress                   = "SUPPRESS"
	CallAcceptInverseOffers        = "ACCEPT_INVERSE_OFFERS"
	CallDeclineInverseOffers       = "DECLINE_INVERSE_OFFERS"
	CallAcknowledgeOperationStatus = "ACKNOWLEDGE_OPERATION_STATUS"
	CallReconcileOperations        = "RECONCILE_OPERATIONS"
	CallUpdateFramework            = "UPDATE_FRAMEWORK"
)

// Call is mesos.v1.scheduler.Call.
type Call struct {
	FrameworkID *FrameworkID `json:"framework_id,omitempty"`
	Type        string       `json:"type"`

	Subscribe   *CallSubscribeBody   `json:"subscribe,omitempty"`
	Accept      *CallAcceptBody      `json:"accept,omitempty"`
	Decline     *CallDeclineBody     `json:"decline,omitempty"`
	Revive      *CallRolesBody       `json:"revive,omitempty"`
	Suppress    *CallRolesBody       `json:"suppress,omitempty"`
	Kill        *CallKillBody        `json:"kill,omitempty"`
	Shutdown    *CallShutdownBody    `json:"shutdown,omitempty"`
	Acknowledge *CallAcknowledgeBody `json:"acknowledge,omitempty"`
	Reconcile   *CallReconcileBody   `json:"reconcile,omitempty"`
	Message     *CallMessageBody     `json:"message,omitempty"`
	Request     *struct {
		Requests []struct {
			AgentID   *AgentID   `json:"agent_id,omitempty"`
			Resources []Resource `json:"resources,omitempty"`
		} `json:"requests,omitempty"`
	} `json:"request,omitempty"`
	AcceptInverseOffers  *CallInverseOffersBody `json:"accept_inverse_offers,omitempty"`
	DeclineInverseOffers *CallInverseOffersBody `json:"decline_inverse_offers,omitempty"`
	UpdateFramework      *CallSubscribeBody     `json:"update_framework,omitempty"`
	ReconcileOperations  *struct {
		Operations []struct {
			OperationID OperationID `json:"operation_id"`
			AgentID     *AgentID    `json:"agent_id,omitempty"`
		} `json:"operations,omitempty"`
	} `json:"reconcile_operations,omitempty"`
	AcknowledgeOperationStatus *struct {
		AgentID     *AgentID    `json:"agent_id,omitempty"`
		UUID        []byte      `json:"uuid"`
		OperationID OperationID `json:"operation_id"`
	} `json:"acknowledge_operation_status,omitempty"`
}

type CallSubscribeBody struct {
	FrameworkInfo   *FrameworkInfo `json:"framework_info"`
	SuppressedRoles []string       `json:"suppressed_roles,omitempty"`
}

type CallAcceptBody struct {
	OfferIDs   []OfferID   `json:"offer_ids,omitempty"`
	Operations []Operation `json:"operations,omitempty"`
	Filters    *Filters    `json:"filters,omitempty"`
}

type CallDeclineBody struct {
	OfferIDs []OfferID `json:"offer_ids,omitempty"`
	Filters  *Filters  `json:"filters,omitempty"`
}

type CallRolesBody struct {
	Roles []string `json:"roles,omitempty"`
}

type CallKillBody struct {
	TaskID     TaskID      `json:"task_id"`
	AgentID    *AgentID    `json:"agent_id,omitempty"`
	KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
}

type CallShutdownBody struct {
	ExecutorID ExecutorID `json:"executor_id"`
	AgentID    AgentID    `json:"agent_id"`
}

type CallAcknowledgeBody struct {
	AgentID AgentID `json:"agent_id"`
	TaskID  TaskID  `json:"task_id"`
	UUID    []byte  `json:"uuid"`
}

type ReconcileTask struct {
	TaskID  TaskID   `json:"task_id"`
	AgentID *AgentID `json:"agent_id,omitempty"`
}

type CallReconcileBody struct {
	Tasks []ReconcileTask `json:"tasks,omitempty"`
}

type CallMessageBody struct {
	AgentID    AgentID    `json:"agent_id"`
	ExecutorID ExecutorID `json:"executor_id"`
	Data       []byte     `json:"data"`
}

type CallInverseOffersBody struct {
	InverseOfferIDs []OfferID `json:"inverse_offer_ids,omitempty"`
	Filters         *Filters  `json:"filters,omitempty"`
}

// Scheduler event types (mesos.v1.scheduler.Event.Type).
const (
	EventSubscribed            = "SUBSCRIBED"
	EventOffers                = "OFFERS"
	EventInverseOffers         = "INVERSE_OFFERS"
	EventRescind               = "RESCIND"
	EventRescindInverseOffer   = "RESCIND_INVERSE_OFFER"
	EventUpdate                = "UPDATE"
	EventUpdateOperationStatus = "UPDATE_OPERATION_STATUS"
	EventMessage               = "MESSAGE"
	EventFailure               = "FAILURE"
	EventError                 = "ERROR"
	EventHeartbeat             = "HEARTBEAT"
)

// Event is mesos.v1.scheduler.Event.
type Event struct {
	Type       string               `json:"type"`
	Subscribed *EventSubscribedBody `json:"subscribed,omitempty"`
	Offers     *EventOffersBody     `json:"offers,omitempty"`
	Rescind    *EventRescindBody    `json:"rescind,omitempty"`

	InverseOffers       *EventInverseOffersBody       `json:"inverse_offers,omitempty"`
	RescindInverseOffer *EventRescindInverseOfferBody `json:"rescind_inverse_offer,omitempty"`
	Update              *EventUpdateBody              `json:"update,omitempty"`
	Message             *EventMessageBody             `json:"message,omitempty"`
	Failure             *EventFailureBody             `json:"failure,omitempty"`
	Error               *EventErrorBody               `json:"error,omitempty"`
}

type EventSubscribedBody struct {
	FrameworkID              FrameworkID `json:"framework_id"`
	HeartbeatIntervalSeconds float64     `json:"heartbeat_interval_seconds"`
	MasterInfo               *MasterInfo `json:"master_info,omitempty"`
}

type EventOffersBody struct {
	Offers []Offer `json:"offers,omitempty"`
}

type EventRescindBody struct {
	OfferID OfferID `json:"offer_id"`
}

type EventUpdateBody struct {
	Status TaskStatus `json:"status"`
}

type EventMessageBody struct {
	AgentID    AgentID    `json:"agent_id"`
	ExecutorID ExecutorID `json:"executor_id"`
	Data       []byte     `json:"data"`
}

type EventFailureBody struct {
	AgentID    *AgentID    `json:"agent_id,omitempty"`
	ExecutorID *ExecutorID `json:"executor_id,omitempty"`
	Status     *int32      `json:"status,omitempty"`
}

type EventErrorBody struct {
	Message string `json:"message"`
}
