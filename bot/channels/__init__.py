"""Rasa input channels that run inside `rasa run` (registered in credentials.yml).

`bot.channels.widget.WidgetInput`: the website chat widget (socket.io), see
docs/widget-protocol.md. Nothing here imports `actions`.
"""
