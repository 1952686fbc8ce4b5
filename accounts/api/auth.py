"""API tokens for scripts: exchange an email address and password for a token.

Scripts then send `Authorization: Token <key>`. DRF's own endpoint asks for a username; portal
users sign in with their email address, so this one asks for that instead.
"""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView


class EmailAuthTokenSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

    def validate(self, attrs):
        user = authenticate(
            request=self.context.get("request"),
            email=attrs["email"].strip().lower(),
            password=attrs["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                "No active portal user has that email address and password.",
                code="authorization",
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class TokenRequestThrottle(AnonRateThrottle):
    """Slows down password guessing through the token endpoint, as the sign-in page does."""

    scope = "api_token"
    rate = "10/minute"


class ObtainTokenView(APIView):
    """Your API token, created on first request and the same one afterwards."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [TokenRequestThrottle]
    serializer_class = EmailAuthTokenSerializer

    @extend_schema(
        tags=["you"], request=EmailAuthTokenSerializer, responses=TokenSerializer, auth=[]
    )
    def post(self, request):
        serializer = EmailAuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response(TokenSerializer({"token": token.key}).data)
