import type { RemovalPolicy } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { KeyfleetFunction } from '#infra/constructs/keyfleet-function.ts';
import type { KeyfleetContext } from '#infra/context.ts';
import type { Route } from '#shared/http/types.ts';

export interface ApiProps {
  context: KeyfleetContext;
  removalPolicy: RemovalPolicy;
}

/** Route-level settings of the stage, as `AWS::ApiGatewayV2::Stage` `RouteSettings` spells them. */
type RouteSettings = Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }>;

/**
 * The HTTP API: IAM (SigV4) auth on every route by default, or a JWT authorizer from context;
 * container routes authenticate with their ticket or task token instead. Access logs in JSON,
 * default throttling on the stage, and a throttle of their own on each container route, so a
 * flood of bad tickets is refused there without taking the rest of the API's share.
 */
export class Api extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  private readonly authorizer: IHttpRouteAuthorizer;
  private readonly containerThrottle: KeyfleetContext['containerThrottle'];
  private readonly routeSettings: RouteSettings = {};

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { context } = props;
    this.containerThrottle = context.containerThrottle;
    this.authorizer =
      context.auth === 'jwt'
        ? new HttpJwtAuthorizer('Jwt', context.jwtIssuer ?? '', { jwtAudience: context.jwtAudience })
        : new HttpIamAuthorizer();
    this.api = new HttpApi(this, 'Http', {
      description: 'Keyfleet credential broker',
      createDefaultStage: false,
      defaultAuthorizer: this.authorizer,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: context.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });
  }

  get url(): string {
    return this.stage.url.replace(/\/$/, '');
  }

  /** Adds `routes` (the same table local mode serves) with `fn` as their integration. */
  addFunctionRoutes(fn: KeyfleetFunction, routes: Route[]): void {
    const integration = new HttpLambdaIntegration(`${fn.node.id}Integration`, fn.fn);
    for (const route of routes) {
      const [added] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        ...(route.access === 'container' || route.access === 'public' ? { authorizer: new HttpNoneAuthorizer() } : {}),
      });
      if (route.access === 'public' && added) {
        Validations.of(added).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is the API reference document: public by design, it holds no data.`,
        });
      }
      if (route.access === 'container' && added) {
        this.throttleContainerRoute(added, `${route.method} ${route.path}`);
        Validations.of(added).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is called from inside an agent container, which has no AWS identity; the handler authenticates the single-use ticket or the task token it carries.`,
        });
      }
    }
  }

  /**
   * Gives the route its own throttle. The stage must be created after the route: API Gateway
   * refuses route settings that name a route it does not know yet.
   */
  private throttleContainerRoute(route: Construct, routeKey: string): void {
    this.routeSettings[routeKey] = {
      ThrottlingRateLimit: this.containerThrottle.rateLimit,
      ThrottlingBurstLimit: this.containerThrottle.burstLimit,
    };
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = { ...this.routeSettings };
    this.stage.node.addDependency(route);
  }
}
