"""What leaves clawsched for the outside world: chat messages through the gateway and webhooks, each
recorded once in the deliveries ledger before it is sent."""
